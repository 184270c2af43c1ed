"""Registry-wide: every layer example exports to ONNX and matches PyTorch in onnxruntime at batch
sizes other than the example's (slow: one export per example; the zoo covers the layers the
shipped specs use in the default suite)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from layer_cases import CASE_IDS, CASES, build, concrete, make_input
from netspec.export import export_module, verify
from netspec.layers import all_layers


class WithActivation(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *xs: torch.Tensor):
        return self.module.activation(self.module(*xs))


def _inputs(example, dtypes, batch: int) -> list[torch.Tensor]:
    """make_input draws batch 2; concatenate draws for other batch sizes."""
    ranges = example.int_ranges or (None,) * len(example.inputs)
    out = []
    for shape, dtype, bounds in zip(example.inputs, dtypes, ranges):
        draws = torch.cat([make_input(shape, dtype, *(bounds or (0, 5))) for _ in range((batch + 1) // 2)])
        out.append(draws[:batch])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("tag,i", CASES, ids=CASE_IDS)
def test_layer_example_exports_and_verifies(tag, i, tmp_path):
    cls = all_layers()[tag]
    example = cls.examples[i]
    layer, dtypes = build(cls, example)
    module = layer.build(*example.inputs)
    act = getattr(layer, "activation", None)
    if act is not None:
        module.add_module("activation", act.build(*layer.output_shapes(*example.inputs)))
        module = WithActivation(module)
    module.eval()
    names = [f"x{k}" for k in range(len(example.inputs))]
    outs = [f"y{k}" for k in range(len(layer.output_shapes(*[concrete(s) for s in example.inputs])))]
    export_module(module, _inputs(example, dtypes, 2), names, outs, tmp_path / "layer.onnx",
                  dynamic_axes={n: {0: "batch"} for n in names})
    report = verify(tmp_path / "layer.onnx", module, [_inputs(example, dtypes, 1), _inputs(example, dtypes, 3)])
    assert report.ok, (tag, i, report.worst())
