"""Registry-wide tests: every layer and every example obeys the layer contract.

For each registered layer and each of its examples: the plain-Python shape rule equals the real
torch forward shape, the parameter count equals torch's, FLOPs are non-negative integers, and
every declared bad input raises a ShapeError with a message. Adding a layer adds its cases here
automatically.
"""

from __future__ import annotations

import pytest
import torch

from netspec.errors import ShapeError
from netspec.layers import FLOAT, LONG, Layer, all_layers, register
from netspec.layers.registry import RegistryError

CASES = [(tag, i) for tag, cls in all_layers().items() for i in range(len(cls.examples))]
BAD = [(tag, i) for tag, cls in all_layers().items() for i in range(len(cls.bad_inputs))]
SYMBOL_SIZE = 7


def concrete(shape):
    return tuple(SYMBOL_SIZE if isinstance(d, str) else d for d in shape)


def make_input(shape, dtype, low=0, high=5):
    shape = (2,) + concrete(shape)
    if dtype == LONG:
        return torch.randint(low, high, shape)
    if dtype == "bool":
        return torch.rand(shape) > 0.5
    return torch.randn(shape)


def build(cls, example):
    layer = cls.model_validate(example.params)
    dtypes = example.dtypes or (FLOAT,) * len(example.inputs)
    return layer, dtypes


@pytest.mark.parametrize("tag,i", CASES, ids=[f"{t}-{i}" for t, i in CASES])
def test_shape_rule_matches_torch(tag, i):
    cls = all_layers()[tag]
    ex = cls.examples[i]
    layer, dtypes = build(cls, ex)
    inputs = [concrete(s) for s in ex.inputs]
    want = layer.output_shapes(*inputs)
    module = layer.build(*ex.inputs)
    act = getattr(layer, "activation", None)
    if act is not None:
        module.add_module("activation", act.build(*want))
    module.eval()
    ranges = ex.int_ranges or (None,) * len(ex.inputs)
    xs = [make_input(s, d, *(r or (0, 5))) for s, d, r in zip(ex.inputs, dtypes, ranges)]
    with torch.no_grad():
        out = module(*xs)
        if act is not None:
            out = module.activation(out)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    got = [tuple(o.shape[1:]) for o in outs]
    assert got == [tuple(s) for s in want], f"{tag}: rule says {want}, torch gives {got}"
    assert all(o.shape[0] == 2 for o in outs)
    for o in outs:
        expected_dtype = {FLOAT: torch.float32, LONG: torch.int64, "bool": torch.bool}[layer.output_dtype(*dtypes)]
        assert o.dtype == expected_dtype, f"{tag}: dtype {o.dtype}, rule says {expected_dtype}"


@pytest.mark.parametrize("tag,i", CASES, ids=[f"{t}-{i}" for t, i in CASES])
def test_param_count_matches_torch(tag, i):
    cls = all_layers()[tag]
    ex = cls.examples[i]
    layer, _ = build(cls, ex)
    module = layer.build(*ex.inputs)
    act = getattr(layer, "activation", None)
    if act is not None:
        module.add_module("activation", act.build(*layer.output_shapes(*ex.inputs)))
    torch_count = sum(p.numel() for p in module.parameters())
    assert layer.num_params(*ex.inputs) == torch_count


@pytest.mark.parametrize("tag,i", CASES, ids=[f"{t}-{i}" for t, i in CASES])
def test_flops_are_counted(tag, i):
    cls = all_layers()[tag]
    ex = cls.examples[i]
    layer, _ = build(cls, ex)
    ins = [concrete(s) for s in ex.inputs]
    flops = layer.flops(ins, layer.output_shapes(*ins))
    assert isinstance(flops, int) and flops >= 0
    if layer.num_params(*ins) > 0 and cls.family in ("dense", "conv"):
        assert flops > 0, f"{tag} has weights but counts no FLOPs"


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
