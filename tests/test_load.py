"""Loading specs: extends, --set overrides, and where their values are located."""

from __future__ import annotations

import pytest

from netspec.errors import NetspecError, SpecErrors
from netspec.spec import CMDLINE, load_data, load_spec, parse_path

BASE = """netspec: 1
name: base
inputs:
  x: {shape: [8]}
model:
  layers:
    - {name: h, linear: {out_features: 4, activation: relu}}
    - {name: out, linear: {out_features: 2}}
"""


def test_parse_path():
    assert parse_path("train.optimizer.lr") == ("train", "optimizer", "lr")
    assert parse_path("model.layers[3].linear.out_features") == ("model", "layers", 3, "linear", "out_features")
    assert parse_path("model.layers.3") == ("model", "layers", 3)
    for bad in ("", "a..b", "a[x]", "[1]a"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_set_parses_values_like_the_file_and_locates_them(write_spec):
    path = write_spec(BASE)
    data, smap = load_data(path, ["model.layers[0].linear.out_features=16", "name=tiny", "dims={seq: 4}"])
    assert data["model"]["layers"][0]["linear"]["out_features"] == 16
    assert data["dims"] == {"seq": 4}
    loc = smap.locate(("model", "layers", 0, "linear", "out_features"))
    assert (loc.file, loc.line, loc.col) == (CMDLINE, 1, len("model.layers[0].linear.out_features=") + 1)
    assert smap.locate(("dims", "seq")).file == CMDLINE
    assert smap.locate(("model", "layers", 1)).file == str(path)


def test_set_errors_are_located_on_the_command_line(write_spec):
    path = write_spec(BASE)
    with pytest.raises(SpecErrors) as info:
        load_spec(path, ["x=1", "model.layers[0].linear.out_features=ten"])
    errors = {e.path: e for e in info.value.errors}
    assert set(errors) == {("x",)}  # validation of the document stops before layer parameters
    smap = info.value.source
    assert smap.locate(("x",)).file == CMDLINE and smap.locate(("x",)).line == 1


@pytest.mark.parametrize("override,message", [
    ("nokeyvalue", "KEY=VALUE"),
    ("a..b=1", "not a spec path"),
    ("model.layers[9].linear.out_features=1", "does not exist"),
    ("name.sub=1", "not a mapping"),
    ("model.layers=[1, 2", "invalid YAML"),
])
def test_bad_set(write_spec, override, message):
    with pytest.raises(NetspecError, match=message) as info:
        load_data(write_spec(BASE), [override])
    assert info.value.location.file == CMDLINE


def test_extends_merges_mappings_and_locates_values_in_their_file(write_spec, tmp_path):
    write_spec(BASE, "base.yaml")
    child = write_spec("extends: base.yaml\nname: child\ninputs:\n  x: {shape: [16]}\n", "child.yaml")
    loaded = load_spec(child)
    assert loaded.spec.name == "child"
    assert loaded.spec.inputs["x"].shape == [16]
    assert len(loaded.spec.model.layers) == 2
    assert loaded.source.locate(("model", "layers", 0)).file.endswith("base.yaml")
    assert loaded.source.locate(("inputs", "x", "shape")).file.endswith("child.yaml")
    assert loaded.source.locate(("name",)).file.endswith("child.yaml")


def test_extends_replaces_lists_and_scalars(write_spec):
    write_spec(BASE, "base.yaml")
    child = write_spec("extends: [base.yaml]\nmodel:\n  layers:\n    - linear: {out_features: 3}\n", "child.yaml")
    loaded = load_spec(child)
    assert len(loaded.spec.model.layers) == 1
    assert loaded.source.locate(("model", "layers", 0)).file.endswith("child.yaml")


def test_extends_cycle_and_missing_base(write_spec):
    a = write_spec("extends: b.yaml\nnetspec: 1\n", "a.yaml")
    write_spec("extends: a.yaml\n", "b.yaml")
    with pytest.raises(NetspecError, match="cycle"):
        load_spec(a)
    c = write_spec("extends: nowhere.yaml\n", "c.yaml")
    with pytest.raises(NetspecError, match="not found"):
        load_spec(c)


def test_error_in_base_is_located_in_the_base(write_spec):
    write_spec(BASE.replace("out_features: 2", "out_features: two"), "base.yaml")
    child = write_spec("extends: base.yaml\nname: child\n", "child.yaml")
    from netspec.check import check

    with pytest.raises(NetspecError) as info:
        check(child)
    loc = info.value.source.locate(("model", "layers", 1, "linear", "out_features"))
    assert loc.file.endswith("base.yaml") and loc.line == 8
