"""The registry-wide layer cases: every example of every registered layer, and how the tests build
and feed it (tests/test_registry*.py, test_export_registry.py and test_tie.py share them).

A case is ``(tag, i)``: example ``i`` of the layer ``tag``. Symbolic dims (``"seq"``) run at
``SYMBOL_SIZE``; inputs are drawn at batch 2 (``BATCH``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from netspec.layers import BOOL, FLOAT, LONG, Example, Layer, all_layers

CASES = [(tag, i) for tag, cls in all_layers().items() for i in range(len(cls.examples))]
CASE_IDS = [f"{t}-{i}" for t, i in CASES]
BAD = [(tag, i) for tag, cls in all_layers().items() for i in range(len(cls.bad_inputs))]
SYMBOL_SIZE = 7
BATCH = 2
TORCH_DTYPES = {FLOAT: torch.float32, LONG: torch.int64, BOOL: torch.bool}


def concrete(shape: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(SYMBOL_SIZE if isinstance(d, str) else d for d in shape)


def make_input(shape, dtype, low=0, high=5) -> torch.Tensor:
    shape = (BATCH,) + concrete(shape)
    if dtype == LONG:
        return torch.randint(low, high, shape)
    if dtype == BOOL:
        return torch.rand(shape) > 0.5
    return torch.randn(shape)


def build(cls: type[Layer], example: Example) -> tuple[Layer, tuple[str, ...]]:
    """The layer from the example's parameters, and the dtype of each input."""
    layer = cls.model_validate(example.params)
    dtypes = example.dtypes or (FLOAT,) * len(example.inputs)
    return layer, dtypes


def case(tag: str, i: int) -> tuple[Layer, Example, tuple[str, ...]]:
    cls = all_layers()[tag]
    example = cls.examples[i]
    layer, dtypes = build(cls, example)
    return layer, example, dtypes


def inputs_of(example: Example, dtypes: tuple[str, ...], longest: bool = False) -> list[torch.Tensor]:
    """Random inputs for the example. ``longest``: int64 inputs with a declared range (lengths) take
    its largest value, so that every sample is full length."""
    ranges = example.int_ranges or (None,) * len(example.inputs)
    xs = [make_input(s, d, *(r or (0, 5))) for s, d, r in zip(example.inputs, dtypes, ranges)]
    if longest:
        xs = [torch.full_like(x, r[1] - 1) if r is not None else x for x, r in zip(xs, ranges)]
    return xs


def module_of(layer: Layer, example: Example) -> nn.Module:
    """The built module, with the layer's fused ``activation`` (if any) added as a submodule named
    ``activation`` (what the compiler does); ``forward_of`` applies it."""
    module = layer.build(*example.inputs)
    act = getattr(layer, "activation", None)
    if act is not None:
        module.add_module("activation", act.build(*layer.output_shapes(*example.inputs)))
    return module


def forward_of(layer: Layer, module: nn.Module, xs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The outputs as a tuple, the fused activation applied."""
    out = module(*xs)
    if getattr(layer, "activation", None) is not None:
        out = module.activation(out)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)
