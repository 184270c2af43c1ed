"""Checks on the graph before export (plain Python, no torch): layers that cannot honour an axis
that is meant to stay dynamic are refused with a located error instead of exporting a graph that
is right only at the example size.

Measured on torch 2.13: ``AdaptiveAvgPool2d`` over a dynamic height/width is exported with its
windows computed from the example input (other sizes give wrong numbers, or fail in
onnxruntime), and ``AdaptiveMaxPool2d`` with an output size above 1 does not export at all.
Global pooling (output size 1) reduces the whole axis, so any size works.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ..errors import ExportError
from ..graph import Graph, TensorType
from ..spec.export import BATCH

ADAPTIVE_POOLS = {f"adaptive_{op}_pool{nd}d": nd for op in ("avg", "max") for nd in (1, 2, 3)}
AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def symbolic_dims(graph: Graph) -> list[str]:
    """The symbolic dims of a graph's inputs, in order of appearance."""
    out: list[str] = []
    for t in graph.inputs.values():
        out += [d for d in t.shape if isinstance(d, str) and d not in out]
    return out


def dynamic_symbols(graph: Graph, requested: Optional[list[str]]) -> set[str]:
    """The dynamic axes of one model: batch and its symbolic dims by default."""
    syms = symbolic_dims(graph)
    if requested is None:
        return {BATCH, *syms}
    return {n for n in requested if n == BATCH or n in syms}


def partial_inputs(graph: Graph, dynamic: Iterable[str], dims: Optional[dict[str, int]] = None) -> dict[str, TensorType]:
    """Input types with the dynamic symbols kept and every other symbol at its example size."""
    sizes = {**graph.dims, **(dims or {})}
    keep = set(dynamic)
    from ..graph.infer import DEFAULT_DIM

    return {name: TensorType(tuple(d if not isinstance(d, str) or d in keep else sizes.get(d, DEFAULT_DIM)
                                   for d in t.shape), t.dtype)
            for name, t in graph.inputs.items()}


def node_input_types(graph: Graph, inputs: dict[str, TensorType]) -> dict[str, list[TensorType]]:
    """Every node's input types when the graph is fed ``inputs``."""
    from ..graph.infer import infer

    produced = infer(graph, inputs, None, record="none")
    out: dict[str, list[TensorType]] = {}
    for node in graph.nodes:
        types = []
        for value in node.inputs:
            if value[0] == "input":
                types.append(inputs[value[1]])
            elif value[1] in produced:
                types.append(produced[value[1]][value[2] or 0])  # type: ignore[misc]
        out[node.name] = types
    return out


def check_dynamic_axes(graph: Graph, dynamic: Iterable[str], dims: Optional[dict[str, int]] = None) -> list[ExportError]:
    """Errors for nodes that cannot keep a dynamic axis dynamic in ONNX."""
    types = node_input_types(graph, partial_inputs(graph, dynamic, dims))
    errors: list[ExportError] = []
    for node in graph.nodes:
        nd = ADAPTIVE_POOLS.get(node.layer.tag)
        if nd is None or not types.get(node.name):
            continue
        shape = types[node.name][0].shape
        size = node.layer.output_size  # type: ignore[attr-defined]
        sizes = (size,) * nd if isinstance(size, int) else tuple(size)
        bad = [AXES[nd][i] for i, (d, s) in enumerate(zip(shape[-nd:], sizes)) if isinstance(d, str) and s != 1]
        if bad:
            errors.append(ExportError(
                f"cannot keep the {' and '.join(bad)} dynamic in ONNX: adaptive pooling to {list(sizes)} computes its "
                f"windows from the input size, and the exporter fixes them at the example size (got {_fmt(shape)})",
                path=node.path, context=node.context, notes=node.notes,
                hint="export with those axes fixed (e.g. `--dynamic batch`), or pool to output_size 1 "
                     "(global pooling works at any size)"))
    return errors


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
