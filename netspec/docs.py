"""Documentation derived from the registry: one entry per layer (used by `netspec layers`, the
generated reference pages and the JSON Schema)."""

from __future__ import annotations

import json
from typing import Any

from .layers import all_layers, get_layer
from .layers.base import Layer


def layer_docs() -> list[dict[str, Any]]:
    return [layer_doc(tag) for tag in all_layers()]


def layer_doc(tag: str) -> dict[str, Any]:
    cls = get_layer(tag)
    assert cls is not None, tag  # callers check the name first
    schema = cls.model_json_schema()
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    params = []
    for name, field in cls.model_fields.items():
        prop = props.get(name, {})
        params.append({
            "name": name,
            "type": type_text(prop, schema.get("$defs", {})),
            "required": name in required,
            "default": None if name in required else field.default,
            "description": field.description or "",
        })
    return {
        "type": tag,
        "family": cls.family,
        "contract": cls.contract(),
        "description": cls.description(),
        "inputs": inputs_text(cls),
        "params": params,
        "examples": [example_text(tag, ex.params) for ex in cls.examples],
    }


def inputs_text(cls: type[Layer]) -> str:
    lo, hi = cls.arity
    count = str(lo) if lo == hi else f"{lo} or more" if hi is None else f"{lo} to {hi}"
    dtypes = "any dtype" if cls.input_dtypes is None else " or ".join(cls.input_dtypes)
    return f"{count} ({dtypes})"


def example_text(tag: str, params: dict) -> str:
    if not params:
        return f"- {tag}"
    return f"- {tag}: {json.dumps(params)}"


def type_text(prop: dict, defs: dict) -> str:
    """A short human description of a JSON-Schema property."""
    if "$ref" in prop:
        return type_text(defs.get(prop["$ref"].split("/")[-1], {}), defs)
    if "anyOf" in prop:
        parts = [type_text(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        return " | ".join(dict.fromkeys(parts))
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return str(prop["const"])
    kind = prop.get("type")
    names = {"integer": "int", "number": "float", "boolean": "bool", "string": "str", "object": "mapping"}
    if kind == "array":
        return f"list[{type_text(prop.get('items', {}), defs)}]"
    text = names.get(kind, "any") if kind else "any"
    bounds = [(k, s) for k, s in (("exclusiveMinimum", ">"), ("minimum", "≥"), ("exclusiveMaximum", "<"), ("maximum", "≤")) if k in prop]
    if bounds:
        text += " " + ", ".join(f"{s} {prop[k]}" for k, s in bounds)
    return text
