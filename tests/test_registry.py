"""Registry-wide tests: every layer and every example obeys the layer contract.

For each registered layer and each of its examples: the plain-Python shape rule equals the real
torch forward shape, the parameter count equals torch's, and every declared bad input raises a
ShapeError with a message (FLOPs: test_registry_flops.py; backward passes: test_registry_backward.py).
Adding a layer adds its cases here automatically (tests/layer_cases.py).
"""

from __future__ import annotations

import pytest
import torch

from layer_cases import BAD, CASE_IDS, CASES, TORCH_DTYPES, case, concrete, forward_of, inputs_of, module_of
from netspec.errors import ShapeError
from netspec.layers import Layer, all_layers, register
from netspec.layers.registry import RegistryError


@pytest.mark.parametrize("tag,i", CASES, ids=CASE_IDS)
def test_shape_rule_matches_torch(tag, i):
    layer, ex, dtypes = case(tag, i)
    inputs = [concrete(s) for s in ex.inputs]
    want = layer.output_shapes(*inputs)
    module = module_of(layer, ex).eval()
    with torch.no_grad():
        outs = forward_of(layer, module, inputs_of(ex, dtypes))
    got = [tuple(o.shape[1:]) for o in outs]
    assert got == [tuple(s) for s in want], f"{tag}: rule says {want}, torch gives {got}"
    assert all(o.shape[0] == 2 for o in outs)
    for o in outs:
        expected_dtype = TORCH_DTYPES[layer.output_dtype(*dtypes)]
        assert o.dtype == expected_dtype, f"{tag}: dtype {o.dtype}, rule says {expected_dtype}"


@pytest.mark.parametrize("tag,i", CASES, ids=CASE_IDS)
def test_param_count_matches_torch(tag, i):
    layer, ex, _ = case(tag, i)
    torch_count = sum(p.numel() for p in module_of(layer, ex).parameters())
    assert layer.num_params(*ex.inputs) == torch_count


@pytest.mark.parametrize("tag,i", BAD, ids=[f"{t}-bad{i}" for t, i in BAD])
def test_bad_input_raises_located_shape_error(tag, i):
    cls = all_layers()[tag]
    layer = cls.model_validate(cls.examples[0].params)
    with pytest.raises(ShapeError) as info:
        layer.output_shapes(*cls.bad_inputs[i])
    assert info.value.message
    assert "got" in info.value.message or info.value.hint


@pytest.mark.parametrize("tag", list(all_layers()))
def test_documented(tag):
    cls = all_layers()[tag]
    assert "→" in cls.contract()
    assert cls.examples
    for name, field in cls.model_fields.items():
        assert field.description or cls.family == "activation", f"{tag}.{name} has no description"


def test_every_shape_changing_layer_declares_a_bad_input():
    """Layers that constrain the rank must show it in `bad_inputs` (so the rule is tested)."""
    free = {"activation", "regularization"}
    missing = [t for t, c in all_layers().items() if c.family not in free and not c.bad_inputs
               and t not in {"flatten", "embedding", "prelu"}]
    assert not missing, f"declare bad_inputs for: {missing}"


def test_registering_twice_raises():
    existing = all_layers()["linear"]
    with pytest.raises(RegistryError, match="registered twice"):
        register(type("Linear2", (existing,), {"__doc__": existing.__doc__, "tag": "linear"}))


def test_layer_without_contract_is_refused():
    class NoContract(Layer):
        """Does something."""

        tag = "no_contract_layer"
        family = "test"

    with pytest.raises(RegistryError, match="shape contract"):
        register(NoContract)


def test_reserved_names_cover_nn_module_attributes():
    from netspec.compiler import GraphModule
    from netspec.graph.reserved import RESERVED

    public = {n for n in dir(torch.nn.Module) if not n.startswith("_")}
    ours = {n for n in vars(GraphModule) if not n.startswith("_")} | {"input_names", "output_names", "graph_name"}
    assert public - RESERVED == set(), f"add to RESERVED: {sorted(public - RESERVED)}"
    assert ours - RESERVED == set(), f"add to RESERVED: {sorted(ours - RESERVED)}"


def test_index_lists_every_layer_in_its_module():
    from netspec.layers.index import MODULE_OF

    layers = all_layers()
    builtin = {tag: cls for tag, cls in layers.items() if cls.__module__.startswith("netspec.layers.")}
    assert set(MODULE_OF) == set(builtin), "netspec/layers/index.py is out of date"
    for tag, cls in builtin.items():
        assert cls.__module__ == f"netspec.layers.{MODULE_OF[tag]}", tag
    assert set(activation_tags_of(layers)) <= set(MODULE_OF) | set(layers)


def activation_tags_of(layers):
    from netspec.layers import activation_tags

    tags = activation_tags()
    assert tags == sorted(t for t, c in layers.items() if c.family == "activation")
    return tags


def test_validate_imports_only_the_families_a_spec_uses():
    import subprocess
    import sys

    code = ("import sys\nfrom netspec.check import check\ncheck('specs/mlp.yaml')\n"
            "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('netspec.layers.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=__import__("conftest").ROOT)
    loaded = eval(out.stdout.strip().splitlines()[-1])  # a printed list of module names
    families = {m for m in loaded if m not in ("base", "registry", "index", "shapes", "activation_ref")}
    assert families <= {"dense", "activation", "dropout", "parametrize"}, families
