"""The JSON Schema of a spec: the document model, with layer items derived from the registry."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .layers import all_layers
from .spec.document import Spec
from .spec.model import NODE_KEYS

SCHEMA_ID = "https://netspec.dev/schema/spec-v1.json"


def spec_schema() -> dict[str, Any]:
    layers = all_layers()
    keys, layer_defs = models_json_schema([(cls, "validation") for cls in layers.values()], ref_template="#/$defs/{model}")
    root = Spec.model_json_schema(ref_template="#/$defs/{model}")
    defs = root.setdefault("$defs", {})
    defs.update(layer_defs.get("$defs", {}))
    item = _layer_item(layers, keys, root)
    defs["LayerItem"] = item
    for name in ("ModelDef", "BlockDef"):
        defs[name]["properties"]["layers"]["items"] = {"$ref": "#/$defs/LayerItem"}
    _implied_types(defs)
    _metric_names(defs)
    _one_or_list(defs.get("TrainSpec", {}).get("properties", {}).get("loss", {}))
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["$id"] = SCHEMA_ID
    root["title"] = "netspec spec"
    return root


def _layer_item(layers: dict, keys: dict, root: dict) -> dict[str, Any]:
    node_props = {
        "name": {"type": "string", "description": "The node's name (others refer to it in `inputs`)."},
        "inputs": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                   "description": "Names of the nodes (or inputs) this layer takes; default: the previous layer."},
        "repeat": {"anyOf": [{"type": "integer", "minimum": 1},
                             {"type": "object", "properties": {"count": {"type": "integer", "minimum": 1},
                                                               "first": {"type": "object"}},
                              "additionalProperties": False}],
                   "description": "Stack the layer (or block) this many times."},
        "init": {"type": "object", "description": "Initializers by parameter-name glob: {weight: kaiming_normal}."},
        "share": {"type": "string", "description": "Reuse the weights (and layer) of this earlier node."},
        "tie": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "Tie parameters to another node's: {weight: wte} uses node wte's weight tensor."},
        "description": {"type": "string"},
    }
    assert set(node_props) == set(NODE_KEYS)
    variants = []
    for tag, cls in layers.items():
        ref = keys[(cls, "validation")]
        variants.append({
            "type": "object",
            "description": cls.contract(),
            "properties": {tag: {"anyOf": [ref, {"type": "null"}]}, **node_props},
            "required": [tag],
            "additionalProperties": False,
        })
    variants.append({"type": "object", "minProperties": 1,
                     "description": "A use of a block defined under `blocks:` ({block_name: {args}})."})
    return {
        "description": "A layer: a bare name (`- relu`) or {type: {params}} with node keys (name, inputs, ...).",
        "anyOf": [{"type": "string", "enum": list(layers)}, {"type": "string", "description": "A block name."}] + variants,
    }


#: tagged choices whose ``type`` may be left out (a BeforeValidator fills it in): definition -> type
IMPLIED_TYPES = {"RatioSplit": "ratio"}  # data.split: {val: 0.2} means {type: ratio, val: 0.2}


def _implied_types(defs: dict) -> None:
    """Let editors accept what the loader accepts: ``type`` is optional where it has a default."""
    for name, tag in IMPLIED_TYPES.items():
        if name in defs:
            d = defs[name]
            d["required"] = [r for r in d.get("required", []) if r != "type"]
            d["properties"]["type"]["default"] = tag


def _metric_names(defs: dict) -> None:
    """``metrics: [accuracy, f1_macro]``: the bare names an item accepts include ``<type>_<average>``."""
    from .metrics import metric_names

    prop = defs.get("TrainSpec", {}).get("properties", {}).get("metrics", {})
    for option in prop.get("anyOf", []):
        for choice in option.get("items", {}).get("anyOf", []) if option.get("type") == "array" else []:
            if choice.get("type") == "string" and "enum" in choice:
                choice["enum"] = sorted(metric_names())


def _one_or_list(prop: dict) -> None:
    """A field read with ``_as_list`` (``loss: cross_entropy`` or a list): the single item is valid too."""
    options = prop.get("anyOf", [])
    arrays = [o for o in options if o.get("type") == "array"]
    if arrays:
        options.insert(0, arrays[0]["items"])

