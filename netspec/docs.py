"""Documentation derived from the registry: one entry per layer (used by `netspec layers`, the
generated reference pages and the JSON Schema), and one per shipped block (netspec/blocks/*.yaml)."""

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


def block_docs() -> list[dict[str, Any]]:
    from .blocks import library

    return [block_doc(name) for name in sorted(library())]


def block_doc(name: str) -> dict[str, Any]:
    """A shipped block: its library file, description, arguments (with defaults), inputs, outputs."""
    from pathlib import Path

    from .blocks import library

    block, raw, smap = library()[name]
    loc = smap.locate(("blocks", name), at_key=True)
    args = [{"name": arg, "type": spec.type, "required": spec.required,
             "default": None if spec.required else spec.default, "description": spec.description or ""}
            for arg, spec in block.args.items()]
    usage = ", ".join(f"{a['name']}: <{a['type']}>" for a in args if a["required"])
    last = raw["layers"][-1]
    return {
        "type": name,
        "library": Path(loc.file).stem if loc else "",
        "line": loc.line if loc else None,
        "description": " ".join((block.description or "").split()),
        "args": args,
        "inputs": list(block.inputs),
        "outputs": list(block.outputs) if block.outputs else ["(its last layer)" if not isinstance(last, dict)
                                                                 or "name" not in last else last["name"]],
        "layers": len(block.layers),
        "example": f"- {{name: NAME, {name}: {{{usage}}}"
                   + (f", inputs: [{', '.join(f'<{i}>' for i in block.inputs)}]}}" if len(block.inputs) > 1 else "}"),
    }


def args_text(args: list[dict]) -> str:
    """``out: int, stride: int = 1`` for a block's arguments."""
    return ", ".join(a["name"] + f": {a['type']}" + ("" if a["required"] else f" = {json.dumps(a['default'])}")
                     for a in args)


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
