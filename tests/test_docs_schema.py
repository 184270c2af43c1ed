"""`netspec schema` as the YAML language server reads it: every shipped spec and example is valid
against it (no false squiggles), and walking it like the server does offers every layer type with
its parameters, descriptions, defaults and enum values, and every loss/optimizer/schedule name."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import EXAMPLES, ROOT, SPECS, run_cli
from netspec.layers import all_layers
from netspec.schema import spec_schema
from netspec.source import load_text

SCHEMA = spec_schema()
DEFS = SCHEMA["$defs"]


def resolve(node: dict) -> dict:
    while "$ref" in node:
        node = DEFS[node["$ref"].split("/")[-1]]
    return node


def layer_variants() -> dict[str, dict]:
    """The object form `- TAG: {...}` of each layer, as completion inside a layers list finds it."""
    out = {}
    for option in DEFS["LayerItem"]["anyOf"]:
        props = option.get("properties", {})
        for tag in option.get("required", []):
            params = next(resolve(a) for a in props[tag]["anyOf"] if "$ref" in a)
            out[tag] = {"option": option, "params": params}
    return out


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid_against_the_schema(path):
    data, _ = load_text(path.read_text(encoding="utf-8"), str(path))
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    assert not errors, [(list(e.absolute_path), e.message[:200]) for e in errors[:3]]


def test_every_layer_type_is_offered_with_documented_parameters():
    variants = layer_variants()
    bare = next(o for o in DEFS["LayerItem"]["anyOf"] if "enum" in o)["enum"]
    assert set(variants) == set(all_layers()) == set(bare)
    for tag, cls in all_layers().items():
        v = variants[tag]
        assert v["option"]["description"] == cls.contract() and "→" in v["option"]["description"]
        assert v["option"]["additionalProperties"] is False  # typos are flagged while typing
        params = v["params"]
        props, required = params.get("properties", {}), set(params.get("required", []))
        assert set(props) == set(cls.model_fields), tag
        for name, prop in props.items():
            assert prop.get("description"), f"{tag}.{name} has no description"
            if name not in required:
                assert "default" in prop, f"{tag}.{name} has no default"
                default = cls.model_fields[name].default
                assert prop["default"] == (default if not hasattr(default, "model_dump") else default.model_dump())


def enum_values(prop: dict) -> set:
    prop = resolve(prop)
    out = set(prop.get("enum", []))
    for key in ("anyOf", "oneOf"):
        for option in prop.get(key, []):
            out |= enum_values(option)
    if "items" in prop:
        out |= enum_values(prop["items"])
    return out


def test_enum_values_are_offered():
    params = layer_variants()["conv2d"]["params"]["properties"]
    assert enum_values(params["padding_mode"]) == {"zeros", "reflect", "replicate", "circular"}
    assert {"same", "valid"} <= enum_values(params["padding"])
    train = DEFS["TrainSpec"]["properties"]
    assert {"adam", "adamw", "sgd", "rmsprop"} <= enum_values(train["optimizer"])
    assert {"cross_entropy", "mse", "focal"} <= enum_values(train["loss"])
    assert {"cosine", "one_cycle", "step"} <= enum_values(train["schedule"])
    assert {"accuracy", "f1_macro", "confusion_matrix"} <= enum_values(train["metrics"])
    item = next(o for o in train["loss"]["anyOf"] if "type" not in o or o["type"] != "array")
    jsonschema.validate({"netspec": 1, "train": {"loss": {"type": "cross_entropy", "label_smoothing": 0.1}}}, SCHEMA)
    jsonschema.validate({"netspec": 1, "train": {"loss": "mse"}}, SCHEMA)
    assert {"cross_entropy", "mse"} <= enum_values(item)
    log = resolve(train["log"])["properties"]
    assert "description" in log["tensorboard"] and log["tensorboard"]["default"] is False


def test_schema_command_and_readme_setup(tmp_path):
    out = tmp_path / "netspec.schema.json"
    assert run_cli("schema", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(SCHEMA))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "# yaml-language-server: $schema=" in readme
