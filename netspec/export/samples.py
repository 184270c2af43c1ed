"""Inputs for exporting and verifying a spec's model: the export's example input, and input sets
at other shapes for verification.

The example uses batch 2 and the spec's ``dims``. Verification runs use other batch sizes
(default 1 and 3) and, for each dynamic symbolic dim, two sizes that differ from the example and
that the graph's shape rules accept (so a U-Net's spatial size stays divisible by 16); small sizes
are preferred, to keep verification cheap. Integer inputs that feed an embedding are drawn below
its vocabulary; other integer inputs (lengths) are drawn in [1, the shortest sequence] so that
padding really occurs; bool inputs (padding masks) are random but keep the first position.
"""

from __future__ import annotations

from typing import Optional

import torch

from ..errors import ExportError
from ..graph import Graph, concrete_output_types
from ..graph.infer import DEFAULT_DIM
from ..inputs import random_inputs
from ..spec.export import BATCH, VerifySpec
from .guards import symbolic_dims

EXAMPLE_BATCH = 2


def example_sizes(graph: Graph, dims: Optional[dict[str, int]] = None) -> dict[str, int]:
    """Every symbolic input dim at its example size."""
    sizes = {**graph.dims, **(dims or {})}
    return {d: sizes.get(d, DEFAULT_DIM) for d in symbolic_dims(graph)}


def example_inputs(graph: Graph, dynamic: set[str]) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1234)
    return random_inputs(graph, EXAMPLE_BATCH if BATCH in dynamic else 1, None, gen)


def verification_sets(graph: Graph, dynamic: set[str], options: VerifySpec) -> list[tuple[dict[str, int], dict[str, torch.Tensor]]]:
    """[(sizes, inputs)]: one input set per run, labelled with its batch and symbol sizes."""
    example = example_sizes(graph)
    symbols = [s for s in example if s in dynamic]
    chosen = {s: list(options.dims.get(s) or _pick(graph, s, example)) for s in symbols}
    batches = list(options.batch_sizes) if BATCH in dynamic else [1, 1]
    runs = max([len(batches)] + [len(v) for v in chosen.values()])
    gen = torch.Generator().manual_seed(options.seed)
    out = []
    for i in range(runs):
        sizes = {**example, **{s: v[i % len(v)] for s, v in chosen.items()}}
        if not _accepts(graph, sizes):
            raise ExportError(f"the graph does not accept the verification sizes {_fmt(sizes)}",
                              path=("export", "onnx", "verify", "dims"),
                              hint="give sizes it accepts under export.onnx.verify.dims")
        batch = batches[i % len(batches)]
        inputs = _with_masks(graph, _with_lengths(graph, random_inputs(graph, batch, sizes, gen), sizes, gen), gen)
        out.append(({BATCH: batch, **{s: sizes[s] for s in symbols}}, inputs))
    return out


def _pick(graph: Graph, symbol: str, example: dict[str, int]) -> list[int]:
    ex = example[symbol]
    candidates = [5, 3, ex // 2, ex - 1, (3 * ex) // 4, ex + 1, ex // 4, 2 * ex, 7, 2]
    found: list[int] = []
    for size in candidates:
        if size >= 2 and size != ex and size not in found and _accepts(graph, {**example, symbol: size}):
            found.append(size)
            if len(found) == 2:
                return found
    raise ExportError(f"found no two sizes of {symbol!r} other than {ex} that the graph accepts",
                      path=("export", "onnx", "verify", "dims"),
                      hint=f"give them as export.onnx.verify.dims: {{{symbol}: [a, b]}}, or leave {symbol} fixed")


def _accepts(graph: Graph, sizes: dict[str, int]) -> bool:
    try:
        concrete_output_types(graph, sizes)
    except Exception:  # noqa: BLE001 - any shape rule that refuses the sizes
        return False
    return True


def _with_lengths(graph: Graph, inputs: dict[str, torch.Tensor], sizes: dict[str, int],
                  gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Per-sample int64 scalars that feed no embedding are lengths: draw them in [1, shortest]."""
    shortest = min(sizes.values(), default=1)
    for name, t in graph.inputs.items():
        if t.dtype == "int64" and tuple(t.shape) == () and not _feeds_embedding(graph, name) and shortest > 1:
            n = inputs[name].shape[0]
            lengths = torch.randint(1, shortest + 1, (n,), generator=gen)
            lengths[0] = shortest  # one sample uses the whole sequence
            inputs[name] = lengths
    return inputs


def _with_masks(graph: Graph, inputs: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Bool inputs (padding masks, True = padding as in PyTorch) at random, but never the first
    position of the last axis, so every query keeps a key to attend to."""
    for name, t in graph.inputs.items():
        if t.dtype == "bool" and inputs[name].dim() > 1:
            mask = torch.rand(inputs[name].shape, generator=gen) < 0.3
            mask[..., 0] = False
            inputs[name] = mask
    return inputs


def _feeds_embedding(graph: Graph, name: str) -> bool:
    return any(hasattr(n.layer, "num_embeddings") and ("input", name) in n.inputs for n in graph.nodes)


def _fmt(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())
