"""Every YAML shipped under specs/ and examples/ validates, compiles and runs a forward pass on CPU,
with the summary's output shapes equal to the real outputs' shapes.

Large image models run at a reduced input size (the override is listed below and must keep the
architecture valid); sequence models run at their `dims:` example sizes.
"""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, ROOT, SPECS
from netspec.check import check
from netspec.compiler import compile_model
from netspec.graph import concrete_output_types
from netspec.inputs import random_inputs

#: spec file name -> --set overrides that shrink the input for a fast CPU forward pass
SMALL = {
    "alexnet.yaml": ["inputs.image.shape=[3,96,96]"],
    "zfnet.yaml": ["inputs.image.shape=[3,96,96]"],
    "vgg11.yaml": ["inputs.image.shape=[3,32,32]"],
    "vgg16.yaml": ["inputs.image.shape=[3,32,32]"],
    "googlenet.yaml": ["inputs.image.shape=[3,64,64]"],
    "resnet18.yaml": ["inputs.image.shape=[3,64,64]"],
    "resnet50.yaml": ["inputs.image.shape=[3,64,64]"],
    "densenet121.yaml": ["inputs.image.shape=[3,64,64]"],
    "mobilenet_v2.yaml": ["inputs.image.shape=[3,64,64]"],
}

SHIPPED = sorted(SPECS.glob("*.yaml")) + sorted(p for p in EXAMPLES.rglob("*.yaml") if "ci" not in p.parts)


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_shipped_spec_validates_compiles_and_runs(path):
    checked = check(path, SMALL.get(path.name, []))
    assert not checked.warnings, [str(w) for w in checked.warnings]
    for name, graph in checked.graphs.items():
        model = compile_model(graph, seed=0).eval()
        inputs = random_inputs(graph, batch=2)
        with torch.no_grad():
            out = model(**inputs)
        outs = out if isinstance(out, tuple) else (out,)
        declared = concrete_output_types(graph)
        assert list(declared) == model.output_names
        assert len(outs) == len(declared)
        for (oname, t), tensor in zip(declared.items(), outs):
            assert tuple(tensor.shape) == (2,) + tuple(t.shape), f"{path.name}:{name}.{oname}"
            assert torch.isfinite(tensor.float()).all(), f"{path.name}:{name}.{oname} is not finite"
        assert sum(p.numel() for p in model.parameters()) == graph.params
