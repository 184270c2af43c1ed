"""Which node of a spec's graph runs a given torch operator: the exporter names the operator it
cannot translate (``aten.cummax``); the user needs the layer in the spec.

One eager forward pass runs under a dispatch mode that records the operators each node's module
dispatches (forward hooks keep the stack of running nodes).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..graph import Graph, Node


class _Recorder(TorchDispatchMode):
    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.stack, self.found = _plain(wanted), [], None

    def enter(self, node: Node) -> None:  # hooks must return None (a value would replace the output)
        self.stack.append(node)

    def leave(self) -> None:
        self.stack.pop()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.found is None and self.stack and _plain(str(func.overloadpacket)) == self.wanted:
            self.found = self.stack[-1]
        return func(*args, **(kwargs or {}))


def node_running(model: torch.nn.Module, graph: Graph, inputs: Sequence[torch.Tensor], op: str) -> Optional[Node]:
    """The first node (innermost, in execution order) whose forward dispatches ``op``."""
    recorder = _Recorder(op)
    handles = []
    for node in graph.nodes:
        if node.share:
            continue
        module = model.get_submodule(node.name)
        handles.append(module.register_forward_pre_hook(lambda m, a, n=node: recorder.enter(n)))
        handles.append(module.register_forward_hook(lambda m, a, o: recorder.leave()))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), recorder:
            model(*inputs)
    except Exception:  # noqa: BLE001 - locating is best effort; the error itself is already known
        return recorder.found
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return recorder.found


def _plain(name: str) -> str:
    """``aten.cummax`` / ``aten::cummax`` / ``prims.erf_inv`` -> ``cummax`` / ``erfinv``."""
    return name.replace("::", ".").rsplit(".", 1)[-1].replace("_", "").lstrip("_")
