"""A semantic architecture diff of two checked specs: nodes matched by name, not lines of text.

``diff_specs(a, b)`` compares model by model (matched by model name; a single ``model`` is
``model``) and returns plain data: per model the nodes added and removed (with type, output
shape, params), the nodes whose layer type, parameters, inputs, output shape, parameter count or
FLOPs changed (each change as ``[before, after]``), input/output shape changes, and the totals
with Δparams and ΔFLOPs. Nothing is imported from torch.
"""

from __future__ import annotations

from typing import Any

from .check import Checked
from .graph import Graph, Node
from .summary import ref_name


def node_entry(node: Node, graph: Graph) -> dict[str, Any]:
    return {"name": node.name, "type": node.layer.tag, "output_shape": _shape(node), "params": node.params,
            "flops": node.flops, "inputs": [ref_name(v, graph) for v in node.inputs]}


def _shape(node: Node) -> list:
    shapes = [list(t.shape) for t in node.out_types]
    return shapes[0] if len(shapes) == 1 else shapes


def node_changes(a: Node, ga: Graph, b: Node, gb: Graph) -> dict[str, list]:
    """What differs between two nodes of the same name: {field: [before, after]}."""
    ea, eb = node_entry(a, ga), node_entry(b, gb)
    out = {k: [ea[k], eb[k]] for k in ("type", "inputs", "output_shape", "params", "flops") if ea[k] != eb[k]}
    pa, pb = a.layer.params_dict(), b.layer.params_dict()
    if a.layer.tag == b.layer.tag:
        for key in sorted(set(pa) | set(pb)):
            if pa.get(key) != pb.get(key):
                out[f"param.{key}"] = [pa.get(key), pb.get(key)]
    if (a.share or None) != (b.share or None):
        out["share"] = [a.share, b.share]
    return out


def diff_graphs(ga: Graph, gb: Graph) -> dict[str, Any]:
    na = {n.name: n for n in ga.nodes}
    nb = {n.name: n for n in gb.nodes}
    changed = []
    for name, node in na.items():
        if name in nb:
            delta = node_changes(node, ga, nb[name], gb)
            if delta:
                changed.append({"name": name, "type": nb[name].layer.tag, "changes": delta})
    shapes = lambda types: {k: list(t.shape) for k, t in types.items()}  # noqa: E731
    ia, ib = shapes(ga.inputs), shapes(gb.inputs)
    oa, ob = shapes(ga.output_types()), shapes(gb.output_types())
    return {
        "params": [ga.params, gb.params], "delta_params": gb.params - ga.params,
        "flops": [ga.flops, gb.flops], "delta_flops": gb.flops - ga.flops,
        "added": [node_entry(n, gb) for name, n in nb.items() if name not in na],
        "removed": [node_entry(n, ga) for name, n in na.items() if name not in nb],
        "changed": changed,
        "unchanged": sum(1 for name in na if name in nb) - len(changed),
        "inputs": {k: [ia.get(k), ib.get(k)] for k in dict.fromkeys([*ia, *ib]) if ia.get(k) != ib.get(k)},
        "outputs": {k: [oa.get(k), ob.get(k)] for k in dict.fromkeys([*oa, *ob]) if oa.get(k) != ob.get(k)},
    }


def diff_specs(a: Checked, b: Checked) -> dict[str, Any]:
    models = {}
    for name in dict.fromkeys([*a.graphs, *b.graphs]):
        if name in a.graphs and name in b.graphs:
            models[name] = diff_graphs(a.graphs[name], b.graphs[name])
    pa = sum(g.params for g in a.graphs.values())
    pb = sum(g.params for g in b.graphs.values())
    fa = sum(g.flops for g in a.graphs.values())
    fb = sum(g.flops for g in b.graphs.values())
    return {
        "a": {"file": a.loaded.file, "name": a.spec.name}, "b": {"file": b.loaded.file, "name": b.spec.name},
        "params": [pa, pb], "delta_params": pb - pa, "flops": [fa, fb], "delta_flops": fb - fa,
        "models_added": [m for m in b.graphs if m not in a.graphs],
        "models_removed": [m for m in a.graphs if m not in b.graphs],
        "models": models,
    }


def is_same(d: dict[str, Any]) -> bool:
    return not (d["models_added"] or d["models_removed"] or any(
        m["added"] or m["removed"] or m["changed"] or m["inputs"] or m["outputs"] for m in d["models"].values()))
