"""A model's summary as plain data: nodes with shapes, params and FLOPs, plus totals."""

from __future__ import annotations

from typing import Any

from .graph import Graph, TensorType, ValueId


def ref_name(value: ValueId, graph: Graph | None = None) -> str:
    """How a value is written in a spec: ``x``, ``conv1``, ``split.1``."""
    if value[0] == "input":
        return value[1]
    index = value[2]  # type: ignore[misc]
    if index is None:
        return value[1]
    if graph is not None and len(graph.node(value[1]).out_types) == 1:
        return value[1]
    return f"{value[1]}.{index}"


def shape_data(t: TensorType) -> list:
    return list(t.shape)


def graph_summary(graph: Graph) -> dict[str, Any]:
    from .summary_extras import activation_bytes, receptive_fields

    fields, acts = receptive_fields(graph), activation_bytes(graph)
    nodes = []
    for n in graph.nodes:
        entry: dict[str, Any] = {
            "name": n.name,
            "type": n.layer.tag,
            "inputs": [ref_name(v, graph) for v in n.inputs],
            "output_shape": shape_data(n.out_types[0]) if len(n.out_types) == 1 else [shape_data(t) for t in n.out_types],
            "params": n.params,
            "flops": n.flops,
            "activation_bytes": acts[n.name],  # output size per sample (summary_extras)
        }
        if n.name in fields:
            entry["receptive_field"] = list(fields[n.name])
        if n.share:
            entry["shares"] = n.share
        nodes.append(entry)
    return {
        "params": graph.params,
        "trainable_params": graph.params,
        "flops": graph.flops,
        "inputs": {name: {"shape": shape_data(t), "dtype": t.dtype} for name, t in graph.inputs.items()},
        "outputs": {name: shape_data(t) for name, t in graph.output_types().items()},
        "nodes": nodes,
    }


def summary(graphs: dict[str, Graph]) -> dict[str, Any]:
    """One model: its summary. Several: totals, outputs as ``model.output``, and ``models``."""
    if len(graphs) == 1:
        return graph_summary(next(iter(graphs.values())))
    models = {name: graph_summary(g) for name, g in graphs.items()}
    return {
        "params": sum(m["params"] for m in models.values()),
        "trainable_params": sum(m["trainable_params"] for m in models.values()),
        "flops": sum(m["flops"] for m in models.values()),
        "outputs": {f"{name}.{o}": s for name, m in models.items() for o, s in m["outputs"].items()},
        "nodes": [dict(n, name=f"{name}/{n['name']}") for name, m in models.items() for n in m["nodes"]],
        "models": models,
    }
