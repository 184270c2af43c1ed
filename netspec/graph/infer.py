"""Topological order, shape and dtype inference, parameter counts and FLOPs (plain Python).

Shapes are inferred symbolically first (``seq`` stays ``seq``); when the graph has symbolic dims,
costs come from a second pass at concrete sizes (the spec's ``dims``, else DEFAULT_DIM).
"""

from __future__ import annotations

import math
from typing import Optional

from ..diagnostics import did_you_mean
from ..errors import NetspecError, ShapeError, SpecError
from ..layers.base import LONG
from ..layers.shapes import Shape, fmt_shape
from .ir import Graph, Node, TensorType

DEFAULT_DIM = 32


def toposort(graph: Graph, errors: list[NetspecError]) -> None:
    """Order ``graph.nodes`` so every node follows its inputs, keeping the spec's order otherwise
    (a node moves only when it refers forward). A cycle is reported at its first node."""
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    deps = {n.name: [v[1] for v in n.inputs if v[0] == "node" and v[1] in index] for n in graph.nodes}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = placed
    order: list[Node] = []
    cyclic: set[str] = set()
    for root in graph.nodes:
        if root.name in state:
            continue
        stack = [(root.name, iter(deps[root.name]))]
        state[root.name] = 1
        while stack:
            name, it = stack[-1]
            dep = next(it, None)
            if dep is None:
                stack.pop()
                state[name] = 2
                order.append(graph.nodes[index[name]])
            elif state.get(dep) == 1:
                path = [n for n, _ in stack]
                cycle = path[path.index(dep):][::-1]  # the stack runs against the data flow
                if not cyclic & set(cycle):
                    _report_cycle(graph, cycle, index, errors)
                cyclic |= set(cycle)
            elif dep not in state:
                state[dep] = 1
                stack.append((dep, iter(deps[dep])))
    graph.nodes = order


def _report_cycle(graph: Graph, cycle: list[str], index: dict[str, int], errors: list[NetspecError]) -> None:
    """``cycle`` lists nodes in data-flow order (each feeds the next; the last feeds the first)."""
    first = min(cycle, key=index.__getitem__)
    i = cycle.index(first)
    shown = " → ".join(cycle[i:] + cycle[:i] + [first])
    node = graph.nodes[index[first]]
    errors.append(SpecError(f"inputs form a cycle: {shown}", path=getattr(node, "inputs_path", None) or node.path,
                            context=node.context, notes=node.notes,
                            hint="a layer cannot (indirectly) take its own output; check `inputs`"))


def infer(graph: Graph, inputs: dict[str, TensorType], errors: Optional[list[NetspecError]], record: str
          ) -> dict[str, list[TensorType]]:
    """Run the shape rules in order. ``record`` is ``types`` (store shapes), ``costs`` (store
    params/FLOPs), ``both`` or ``none``. Errors go to ``errors`` (None: ignore them). Returns the
    output types of every node that could be inferred."""
    produced: dict[str, list[TensorType]] = {}
    for node in graph.nodes:
        ins = _gather(node, inputs, produced, errors)
        if ins is None:
            continue
        try:
            outs = _apply(node, ins)
        except ShapeError as exc:
            if errors is not None:
                errors.append(_locate(exc, node))
            continue
        produced[node.name] = outs
        if record in ("types", "both"):
            node.in_types, node.out_types = ins, outs
        if record in ("costs", "both"):
            shapes = [t.shape for t in ins]
            node.params = 0 if node.share else node.layer.num_params(*shapes) - tied_params(node, shapes)
            node.flops = node.layer.flops(shapes, [t.shape for t in outs])
            act = getattr(node.layer, "activation", None)
            if act is not None:
                node.flops += act.flops([t.shape for t in outs], [t.shape for t in outs])
    return produced


def _gather(node: Node, inputs: dict[str, TensorType], produced: dict[str, list[TensorType]],
            errors: Optional[list[NetspecError]]) -> Optional[list[TensorType]]:
    ins: list[TensorType] = []
    for value in node.inputs:
        if value[0] == "input":
            ins.append(inputs[value[1]])
            continue
        if value[0] != "node" or value[1] not in produced:
            return None  # an earlier problem, already reported
        outs = produced[value[1]]
        index = value[2]  # type: ignore[misc]
        if index is None and len(outs) != 1:
            if errors is not None:
                errors.append(SpecError(
                    f"{value[1]!r} has {len(outs)} outputs; say which one this layer takes",
                    path=getattr(node, "inputs_path", None) or node.path, context=node.context, notes=node.notes,
                    hint=f"add `inputs: [{value[1].rsplit('.', 1)[-1]}.0]`"))
            return None
        index = index or 0
        if index >= len(outs):
            if errors is not None:
                errors.append(SpecError(f"{value[1]!r} has {len(outs)} output(s); there is no output {index}",
                                        path=getattr(node, "inputs_path", None) or node.path, context=node.context,
                                        notes=node.notes))
            return None
        ins.append(outs[index])
    return ins


def _apply(node: Node, ins: list[TensorType]) -> list[TensorType]:
    layer = node.layer
    for i, (t, allowed) in enumerate(zip(ins, layer.input_dtypes_for(len(ins)))):
        if allowed is not None and t.dtype not in allowed:
            which = f"input {i} " if len(ins) > 1 else "input"
            raise ShapeError(f"expects {' or '.join(allowed)} {which}, got {t.dtype}".replace("  ", " "),
                             hint=_dtype_hint(allowed, t))
    shapes = [t.shape for t in ins]
    out_shapes = layer.output_shapes(*shapes)
    dtype = layer.output_dtype(*[t.dtype for t in ins])
    return [TensorType(tuple(s), dtype) for s in out_shapes]


def _dtype_hint(allowed: tuple[str, ...], t: TensorType) -> str:
    if t.dtype == LONG:
        return "token ids (int64) need an `embedding` first"
    if allowed == (LONG,):
        return "this layer takes int64 ids: declare the input with `dtype: int64`"
    return "convert the input's dtype first"


def _locate(exc: ShapeError, node: Node) -> NetspecError:
    exc.path = node.path + exc.path
    exc.context = node.context
    exc.notes = list(node.notes) + exc.notes
    return exc


def check_shared(graph: Graph, errors: list[NetspecError]) -> None:
    """A node that shares weights must see the inputs its source sees."""
    by_name = {n.name: n for n in graph.nodes}
    for node in graph.nodes:
        source = by_name.get(node.share) if node.share else None
        if source is None or not source.in_types or not node.in_types:
            continue
        got = [t.shape for t in node.in_types]
        want = [t.shape for t in source.in_types]
        if got != want:
            errors.append(ShapeError(
                f"shares weights with {source.name!r}, whose input is {', '.join(map(fmt_shape, want))}, "
                f"but this gets {', '.join(map(fmt_shape, got))}", path=node.path, context=node.context, notes=node.notes))


def tied_params(node: Node, shapes: list[Shape]) -> int:
    """How many of the node's parameters belong to other nodes (``tie:``); they count there."""
    if not node.tie:
        return 0
    own = node.layer.param_shapes(*shapes) or {}
    return sum(math.prod(own[p]) for p in node.tie if p in own)


def check_tied(graph: Graph, errors: list[NetspecError]) -> None:
    """Every tied parameter exists on both nodes with the same shape, and is tied to its owner."""
    by_name = {n.name: n for n in graph.nodes}
    for node in graph.nodes:
        for pname, target_name in node.tie.items():
            target = by_name.get(target_name)
            if target is None or not node.in_types or not target.in_types:
                continue  # an earlier problem, already reported
            problem = _tie_problem(node, pname, target)
            if problem is not None:
                problem.path, problem.context, problem.notes = node.path + ("tie", pname), node.context, list(node.notes)
                errors.append(problem)


def _tie_problem(node: Node, pname: str, target: Node) -> Optional[NetspecError]:
    mine = node.layer.param_shapes(*[t.shape for t in node.in_types])
    theirs = target.layer.param_shapes(*[t.shape for t in target.in_types])
    if mine is None or theirs is None:
        tag = node.layer.tag if mine is None else target.layer.tag
        return SpecError(f"{tag} does not declare its parameter shapes, so its parameters cannot be tied")
    if pname not in mine:
        return SpecError(f"{node.layer.tag} has no parameter {pname!r}",
                         hint=did_you_mean(pname, mine) or f"its parameters: {', '.join(mine) or 'none'}")
    if pname not in theirs:
        return SpecError(f"{target.name!r} ({target.layer.tag}) has no parameter {pname!r}",
                         hint=did_you_mean(pname, theirs) or f"its parameters: {', '.join(theirs) or 'none'}")
    if tuple(mine[pname]) != tuple(theirs[pname]):
        return ShapeError(f"cannot tie {pname} {fmt_shape(mine[pname])} to {target.name!r}'s {pname} "
                          f"{fmt_shape(theirs[pname])}, got different shapes",
                          hint="a tied parameter must have the same shape on both nodes")
    if pname in target.tie:
        owner = target.tie[pname]
        return SpecError(f"{target.name!r}'s {pname} is itself tied to {owner!r}", hint=f"tie to {owner!r} directly")
    return None
