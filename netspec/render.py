"""The canonical, fully resolved form of a spec: blocks expanded, every node named and wired
explicitly, every layer parameter and effective initializer written out. It is itself a valid
spec that compiles to the same model (same state-dict names, same weights for the same seed)."""

from __future__ import annotations

from typing import Any

import yaml

from .check import Checked
from .graph import Graph, Node
from .summary import ref_name

_FIRST = ("netspec", "name", "description", "dims", "inputs", "model", "models", "constraints")


def canonical(checked: Checked) -> dict[str, Any]:
    spec = checked.spec
    data = spec.model_dump(mode="json", exclude_none=True, exclude={"blocks", "extends", "model", "models", "inputs"})
    data["inputs"] = {name: _input(i) for name, i in spec.inputs.items()}
    models = {name: _model(checked.graphs[name], spec.model_defs()[name]) for name in checked.graphs}
    if spec.model is not None:
        data["model"] = models["model"]
    else:
        data["models"] = models
    data = {k: v for k, v in data.items() if v != {}}
    ordered = {k: data[k] for k in _FIRST if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    return ordered


def _input(spec) -> dict[str, Any]:
    out: dict[str, Any] = {"shape": list(spec.shape), "dtype": spec.torch_dtype}
    if spec.description:
        out["description"] = spec.description
    return out


def _model(graph: Graph, mdef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if mdef.description:
        out["description"] = mdef.description
    if mdef.inputs is not None:
        out["inputs"] = {name: _input(i) for name, i in mdef.inputs.items()}
    out["layers"] = [_node(n, graph) for n in graph.nodes]
    out["outputs"] = [ref_name(v, graph) for _, v in graph.outputs]
    return out


def _node(node: Node, graph: Graph) -> dict[str, Any]:
    item: dict[str, Any] = {"name": node.name, "inputs": [ref_name(v, graph) for v in node.inputs]}
    if node.share:
        item["share"] = node.share
        return item
    item[node.layer.tag] = node.layer.params_dict()
    if node.tie:
        item["tie"] = dict(node.tie)
    init = {**{k: v.model_dump(mode="json") for k, v in node.type_init.items()},
            **{k: v.model_dump(mode="json") for k, v in node.init.items()}}
    if init:
        item["init"] = init
    return item


class _Dumper(yaml.SafeDumper):
    """Block style for the document, flow style for a layer's parameters."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict):
    flow = all(not isinstance(v, dict) and (not isinstance(v, list) or _flat(v)) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or _flat(v) for v in value.values())
    return all(not isinstance(v, (dict, list)) for v in value)


def _represent_list(dumper: yaml.SafeDumper, data: list):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_flat(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def resolved_text(checked: Checked) -> str:
    """The resolved spec as canonical YAML: what a run records as spec.yaml and a checkpoint or an
    exported file carries (train, export and the trackers share it)."""
    return to_yaml(canonical(checked))
