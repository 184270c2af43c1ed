"""Spec -> Graph IR: block expansion, wiring, topological order, shape inference, costs, constraints.

``build_graphs`` reports every problem it can find in one SpecErrors (never just the first).
"""

from __future__ import annotations

from typing import Any

from ..blocks import BlockTable
from ..diagnostics import did_you_mean, show
from ..errors import NetspecError, SpecError, SpecPath, raise_all
from ..layers import get_layer, layer_tags
from ..layers.shapes import fmt_shape
from ..source import SourceMap
from ..spec.document import Spec
from ..spec.model import BlockDef, InputSpec, ModelDef
from .blocks import check_definition, check_no_refs
from .expand import Ctx, Expander
from .infer import DEFAULT_DIM, check_shared, check_tied, infer, toposort
from .ir import Graph, Node, TensorType, ValueId
from .wiring import Entry

__all__ = ["Graph", "Node", "TensorType", "ValueId", "build_graphs", "concrete_inputs", "concrete_output_types", "input_types"]


def build_graphs(spec: Spec, raw: dict[str, Any], warnings: list[NetspecError] | None = None,
                 source: SourceMap | None = None) -> dict[str, Graph]:
    """Build and check every model of the spec. ``raw`` is the validated data as plain dicts;
    locations of shipped blocks the spec uses are added to ``source``."""
    errors: list[NetspecError] = []
    own: dict[str, tuple[BlockDef, SpecPath]] = {}
    blocks = BlockTable(own)
    try:
        graphs = _build_all(spec, raw, blocks, own, warnings, errors)
    finally:
        if source is not None:
            blocks.locate_into(source)
    raise_all(errors)
    return graphs


def _build_all(spec: Spec, raw: dict[str, Any], blocks: BlockTable, own: dict[str, tuple[BlockDef, SpecPath]],
               warnings: list[NetspecError] | None,
               errors: list[NetspecError]) -> dict[str, Graph]:
    for name, block in spec.blocks.items():
        path = ("blocks", name)
        if get_layer(name):
            errors.append(SpecError(f"block {name!r} has the name of a layer type", path=path, at_key=True,
                                    hint="rename the block"))
            continue
        own[name] = (block, path)
        errors += check_definition(name, block, raw["blocks"][name], path)
    # a value that holds a bad ${reference} also fails layer validation: report the reference only
    known = {e.path for e in errors}
    graphs = {}
    for name, mdef in spec.model_defs().items():
        mpath = spec.model_path(name)
        found: list[NetspecError] = []
        graph = build_model(name, mdef, mpath, _at(raw, mpath), spec, blocks, found)
        errors += [e for e in found if e.path not in known]
        if graph is not None:
            graphs[name] = graph
            if warnings is not None:
                warnings += unreachable(graph)
    if not errors:
        errors += check_constraints(spec, graphs)
    return graphs


def build_model(name: str, mdef: ModelDef, mpath: SpecPath, raw: dict[str, Any], spec: Spec,
                blocks: BlockTable, errors: list[NetspecError]) -> Graph | None:
    inputs = mdef.inputs if mdef.inputs is not None else spec.inputs
    if not inputs:
        errors.append(SpecError(f"model {name!r} declares no inputs", path=mpath,
                                hint="add `inputs: {x: {shape: [...]}}` at the top of the spec (or to the model)"))
        return None
    ref_errors = check_no_refs(raw.get("layers"), mpath + ("layers",))
    for tag in mdef.init:
        if get_layer(tag) is None:
            errors.append(SpecError(f"unknown layer type {tag!r} in init defaults", path=mpath + ("init", tag), at_key=True,
                                    hint=did_you_mean(tag, layer_tags()) or "keys of a model's init are layer types"))
    found: list[NetspecError] = []
    expander = Expander(blocks, mdef.init, found)
    table, last = expander.scope(mdef.layers, mpath + ("layers",), "", {n: ("input", n) for n in inputs}, Ctx())
    ref_paths = {e.path for e in ref_errors}
    errors += ref_errors + [e for e in found if e.path not in ref_paths]  # a ${ref} value fails validation too
    outputs = _outputs(mdef, mpath, table, last, errors)
    nodes = [_resolve_aliases(n, expander.aliases) for n in expander.nodes]
    outputs = [(ref, _alias(v, expander.aliases)) for ref, v in outputs]
    graph = Graph(name=name, path=mpath, inputs=input_types(inputs), nodes=nodes, outputs=outputs, dims=dict(spec.dims))
    before = len(errors)
    toposort(graph, errors)
    infer(graph, graph.inputs, errors, record="types")
    check_shared(graph, errors)
    check_tied(graph, errors)
    _check_outputs(graph, errors)
    if len(errors) == before:
        concrete = concrete_inputs(graph)
        infer(graph, concrete, errors, record="costs")
        sizes = ", ".join(f"{k}={v.shape}" for k, v in concrete.items() if v != graph.inputs[k])
        for e in errors[before:]:
            e.message += f" (with the example input sizes {sizes}; set them under `dims:`)"
    return graph


def input_types(inputs: dict[str, InputSpec]) -> dict[str, TensorType]:
    """Per-sample input types; a null dim becomes the symbol ``<input>_dim<i>``."""
    return {
        name: TensorType(tuple(d if d is not None else f"{name}_dim{i}" for i, d in enumerate(spec.shape)), spec.torch_dtype)
        for name, spec in inputs.items()
    }


def concrete_inputs(graph: Graph, dims: dict[str, int] | None = None) -> dict[str, TensorType]:
    """Input types with symbolic dims replaced by their example sizes."""
    sizes = {**graph.dims, **(dims or {})}
    return {name: TensorType(tuple(sizes.get(d, DEFAULT_DIM) if isinstance(d, str) else d for d in t.shape), t.dtype)
            for name, t in graph.inputs.items()}


def concrete_output_types(graph: Graph, dims: dict[str, int] | None = None) -> dict[str, TensorType]:
    """The model's outputs at the example input sizes (symbolic dims replaced)."""
    produced = infer(graph, concrete_inputs(graph, dims), None, record="none")
    types = dict(concrete_inputs(graph, dims))
    out = {}
    for name, value in graph.outputs:
        out[name] = types[value[1]] if value[0] == "input" else produced[value[1]][value[2] or 0]  # type: ignore[misc]
    return out


def _at(raw: Any, path: SpecPath) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _outputs(mdef: ModelDef, mpath: SpecPath, table: dict[str, Entry], last: Any, errors: list[NetspecError]
             ) -> list[tuple[str, ValueId]]:
    from .wiring import resolve

    if mdef.outputs is None:
        if last is None:
            return []
        name = last.qn.split(".")[0] if last.kind != "input" else last.value[1]
        try:
            return [(name, last.sole())]
        except SpecError as exc:
            exc.path = mpath + ("layers", len(mdef.layers) - 1)
            errors.append(exc)
            return []
    out = []
    seen = set()
    for i, ref in enumerate(mdef.outputs):
        if ref in seen:
            errors.append(SpecError(f"output {show(ref)} is listed twice", path=mpath + ("outputs", i)))
            continue
        seen.add(ref)
        try:
            out.append((ref, resolve(ref, table, mpath + ("outputs", i))))
        except SpecError as exc:
            errors.append(exc)
    return out


def _alias(value: ValueId, aliases: dict[ValueId, ValueId]) -> ValueId:
    seen = set()
    while value[0] == "alias":
        if value in seen or value not in aliases:
            return ("poison", "")
        seen.add(value)
        value = aliases[value]
    return value


def _resolve_aliases(node: Node, aliases: dict[ValueId, ValueId]) -> Node:
    node.inputs = [_alias(v, aliases) for v in node.inputs]
    return node


def _check_outputs(graph: Graph, errors: list[NetspecError]) -> None:
    known = {n.name: n for n in graph.nodes}
    resolved: list[tuple[str, ValueId]] = []
    for name, value in graph.outputs:
        if value[0] == "node" and value[1] in known and known[value[1]].out_types:
            outs = known[value[1]].out_types
            if value[2] is None and len(outs) > 1:  # type: ignore[misc]
                resolved += [(f"{name}.{k}", ("node", value[1], k)) for k in range(len(outs))]
                continue
            resolved.append((name, ("node", value[1], value[2] or 0)))  # type: ignore[misc]
        elif value[0] == "input":
            resolved.append((name, value))
    graph.outputs = resolved


def unreachable(graph: Graph) -> list[NetspecError]:
    """Warnings for nodes whose output never reaches a model output."""
    users: dict[str, list[str]] = {}
    for n in graph.nodes:
        for v in n.inputs:
            if v[0] == "node":
                users.setdefault(v[1], []).append(n.name)
    live = {v[1] for _, v in graph.outputs if v[0] == "node"}
    stack = list(live)
    by_name = {n.name: n for n in graph.nodes}
    while stack:
        node = by_name.get(stack.pop())
        for v in node.inputs if node else []:
            if v[0] == "node" and v[1] not in live:
                live.add(v[1])
                stack.append(v[1])
        if node and node.share and node.share not in live:
            live.add(node.share)
        for owner in node.tie.values() if node else ():
            if owner not in live:  # a node whose weights a live node uses is live too
                live.add(owner)
                stack.append(owner)
    out: list[NetspecError] = []
    for n in graph.nodes:
        if n.name not in live:
            w = SpecError(f"{n.name!r} does not reach any output", path=n.path, context=n.context, notes=n.notes,
                          hint="wire it into the graph, list it in `outputs`, or remove it")
            w.kind = "warning"
            out.append(w)
    return out


def check_constraints(spec: Spec, graphs: dict[str, Graph]) -> list[NetspecError]:
    c = spec.constraints
    errors: list[NetspecError] = []
    params = sum(g.params for g in graphs.values())
    flops = sum(g.flops for g in graphs.values())
    if c.max_params is not None and params > c.max_params:
        errors.append(SpecError(f"the model has {params:,} parameters, more than max_params {c.max_params:,}",
                                path=("constraints", "max_params")))
    if c.max_flops is not None and flops > c.max_flops:
        errors.append(SpecError(f"a forward pass needs {flops:,} FLOPs per sample, more than max_flops {c.max_flops:,}",
                                path=("constraints", "max_flops")))
    outputs = {}
    for gname, g in graphs.items():
        for oname, t in g.output_types().items():
            outputs[oname if len(graphs) == 1 else f"{gname}.{oname}"] = t
    for name, want in c.output_shapes.items():
        path = ("constraints", "output_shapes", name)
        if name not in outputs:
            errors.append(SpecError(f"no output named {name!r}", path=path, at_key=True,
                                    hint=did_you_mean(name, outputs) or f"outputs: {', '.join(outputs)}"))
        elif list(outputs[name].shape) != list(want):
            errors.append(SpecError(f"output {name!r} has shape {fmt_shape(outputs[name].shape)}, expected {fmt_shape(want)}",
                                    path=path))
    return errors
