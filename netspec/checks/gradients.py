"""Warnings about gradients that cannot flow, checked without torch (``plan_training``, hence
``netspec validate`` and the trainer).

A layer whose gradient is zero almost everywhere (``zero_gradient = True`` on its class in the
layer registry: the Heaviside step) stops the loss's gradient. When a parameter reaches a
gradient-trained loss only through such a layer (or through a layer's ``activation:`` of that
kind, which also stops its own layer's weights), gradient descent never changes it, and the run
would "train" with its loss flat -- a warning at the layer, naming the parameters it starves.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import SpecError

HINT = ("one unit ending in a step trains with `train.program: perceptron` (Rosenblatt's rule); otherwise use a "
        "differentiable activation (sigmoid, tanh)")


def zero_gradient_warnings(graph: Any, outputs: Sequence[str], warnings: list) -> None:
    """Warn at each zero-gradient layer between ``outputs`` (the ones a loss reads) and parameters
    that get no gradient through any other path."""
    nodes = {n.name: n for n in graph.nodes}
    values = dict(graph.outputs)
    reached: set[str] = set()  # nodes whose output the loss's gradient reaches
    blocked: list[Any] = []  # reached zero-gradient nodes, where it stops
    frontier = [values[o] for o in outputs if o in values]
    while frontier:
        value = frontier.pop()
        if value[0] != "node" or value[1] in reached or value[1] not in nodes:
            continue
        reached.add(value[1])
        node = nodes[value[1]]
        if _zero(node):
            blocked.append(node)
        else:
            frontier.extend(node.inputs)
    trained = {_owner(nodes[n]) for n in reached if not _zero(nodes[n])}  # modules whose parameters get a gradient
    for node in sorted(blocked, key=lambda n: graph.nodes.index(n)):
        starved = [n for n in _upstream(node, nodes) if n.params and _owner(n) not in trained]
        if not starved:
            continue
        count = sum(n.params for n in starved)
        names = ", ".join(n.name for n in starved[:4]) + (", …" if len(starved) > 4 else "")
        warnings.append(_warn(f"{_what(node)} has zero gradient almost everywhere: gradient descent never changes the "
                              f"{count} parameter(s) that reach the loss only through it ({names})", node))


def _zero(node: Any) -> bool:
    act = getattr(node.layer, "activation", None)
    return node.layer.zero_gradient or (act is not None and act.zero_gradient)


def _owner(node: Any) -> str:
    """The node whose module (and weights) this node runs (``share:``)."""
    return node.share or node.name


def _upstream(node: Any, nodes: dict) -> list[Any]:
    """The node itself (its own weights come before its activation) and every node it reads from."""
    seen: dict[str, Any] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        if n.name in seen:
            continue
        seen[n.name] = n
        stack.extend(nodes[v[1]] for v in n.inputs if v[0] == "node" and v[1] in nodes)
    return sorted(seen.values(), key=lambda n: list(nodes).index(n.name))


def _what(node: Any) -> str:
    """The layer named as the diagnostic's context already shows it (``step 'gate'``)."""
    if node.layer.zero_gradient:
        return node.layer.tag
    return f"its {node.layer.activation.tag} activation"


def _warn(message: str, node: Any) -> SpecError:
    err = SpecError(message, path=node.path, hint=HINT, context=node.context, notes=node.notes)
    err.kind = "warning"
    return err
