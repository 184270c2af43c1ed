"""Edits and checks on the written ONNX graph (onnx protobuf level, no torch).

* ``check_dynamic``: every axis meant to stay dynamic is still symbolic in the graph's inputs and
  outputs. The exporter may fix an axis silently (it "refines" the requested dynamic shapes when
  the model's code specializes a size); a file that only works at the example size is refused.
* ``expand_attention_masks``: at opset 23 the ``Attention`` operator's mask is broadcast in ONNX,
  but onnxruntime 1.2x requires its query axis to equal the query length; a padding mask
  (N, 1, 1, Lk) fails at run time. The mask is expanded to (…, Lq, Lk) in front of the node.
* ``set_metadata``: string key/value pairs in the model's ``metadata_props``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ExportError


def check_dynamic(proto: Any, inputs: dict[str, dict[int, str]], outputs: dict[str, dict[int, str]]) -> None:
    frozen = []
    for kind, values, wanted in (("input", proto.graph.input, inputs), ("output", proto.graph.output, outputs)):
        shapes = {v.name: v.type.tensor_type.shape.dim for v in values}
        for name, axes in wanted.items():
            dims = shapes.get(name)
            if dims is None:
                continue
            for axis, label in axes.items():
                if axis < len(dims) and dims[axis].HasField("dim_value"):
                    frozen.append(f"{kind} {name!r} axis {axis} ({label}) = {dims[axis].dim_value}")
    if frozen:
        raise ExportError("axes meant to be dynamic came out fixed in the ONNX graph: " + "; ".join(frozen),
                          hint="the model's computation fixes these sizes at the example input; export them as "
                               "fixed sizes (leave them out of --dynamic) or change the layer that needs them")


def expand_attention_masks(proto: Any) -> int:
    """Expand the mask input of every opset-23 Attention node to (…, Lq, Lk); returns how many."""
    from onnx import helper

    count = 0
    for graph in _graphs(proto.graph):
        nodes = []
        for node in graph.node:
            if node.op_type == "Attention" and node.domain in ("", "ai.onnx") and len(node.input) > 3 and node.input[3]:
                q, k, mask = node.input[0], node.input[1], node.input[3]
                p = f"{node.name or 'attention'}_{count}_mask"
                nodes += [helper.make_node("Shape", [q], [f"{p}_lq"], start=-2, end=-1),
                          helper.make_node("Shape", [k], [f"{p}_lk"], start=-2, end=-1),
                          helper.make_node("Shape", [mask], [f"{p}_lead"], start=0, end=-2),
                          helper.make_node("Concat", [f"{p}_lead", f"{p}_lq", f"{p}_lk"], [f"{p}_shape"], axis=0),
                          helper.make_node("Expand", [mask, f"{p}_shape"], [f"{p}_full"])]
                node.input[3] = f"{p}_full"
                count += 1
            nodes.append(node)
        del graph.node[:]
        graph.node.extend(nodes)
    return count


def _graphs(graph: Any):
    """The graph and every subgraph (If/Loop/Scan bodies)."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.g is not None and attr.HasField("g"):
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def set_metadata(proto: Any, metadata: dict[str, str]) -> None:
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in metadata.items():
        if key in existing:
            existing[key].value = value
        else:
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value


def read_metadata(path: str) -> dict[str, str]:
    """The metadata of an ONNX file (without loading its weights)."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}
