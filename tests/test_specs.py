"""Every YAML shipped under specs/ and examples/ validates, compiles and runs a forward pass on CPU,
with the summary's output shapes equal to the real outputs' shapes.

The specs in specs/ run at the reduced input sizes of tests/small_specs.py (large images smaller,
sequence `dims:` shorter; the architecture as shipped); the examples run as shipped.
"""

from __future__ import annotations

import pytest
import torch

from conftest import EXAMPLES, ROOT, SPECS
from netspec.check import check
from netspec.compiler import compile_model
from netspec.graph import concrete_output_types
from netspec.inputs import random_inputs
from small_specs import small

SHIPPED = sorted(SPECS.glob("*.yaml")) + sorted(p for p in EXAMPLES.rglob("*.yaml") if "ci" not in p.parts)


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_shipped_spec_validates_compiles_and_runs(path):
    checked = check(path, small(path.stem) if path.parent == SPECS else [])
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


def test_the_small_sizes_name_shipped_specs():
    from small_specs import NARROW, SMALL

    names = {p.stem for p in SPECS.glob("*.yaml")}
    assert set(SMALL) | set(NARROW) <= names, "tests/small_specs.py names a spec that specs/ lacks"
