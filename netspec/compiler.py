"""Graph IR -> torch.nn.Module.

Each node becomes a submodule named after the node; block uses become nested containers, so
``layer1.0.conv1`` is ``model.layer1[0].conv1`` and its weight is ``layer1.0.conv1.weight`` in the
state dict. An ``activation:`` option becomes a child ``activation`` of the node's module. The
forward pass walks a precomputed plan (a flat list of steps), which torch.compile traces cleanly.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

import torch
from torch import nn

from . import init as initializers
from .errors import SpecError
from .graph import Graph, Node


class Container(nn.Module):
    """A level of the module hierarchy (a block use); it has no forward of its own.
    Children are reachable as attributes or by key: ``model.stage2[0].conv``."""

    def __getitem__(self, key: int | str) -> nn.Module:
        return self._modules[str(key)]  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._modules)


class GraphModule(nn.Module):
    """A compiled netspec model: ``model(x)``, ``model(*inputs)`` or ``model(**inputs)``.

    Returns a tensor for one output, else a tuple in the order of ``output_names``.
    ``forward_capture(nodes, *inputs)`` also returns the outputs of named inner nodes.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph_name = graph.name
        self.input_names: list[str] = list(graph.inputs)
        self.output_names: list[str] = [name for name, _ in graph.outputs]
        slots: dict[Any, int] = {("input", name): i for i, name in enumerate(self.input_names)}
        built: dict[str, nn.Module] = {}
        steps = []
        self._node_slots: dict[str, Optional[int]] = {}
        for node in graph.nodes:
            module = built[node.share] if node.share else _build(node)
            built[node.name] = module
            if not node.share:  # a sharing node runs its source's module; the weights live there
                _register(self, node.name, module)
            ins = [slots[_key(v)] for v in node.inputs]
            outs = []
            for k in range(len(node.out_types)):
                slots[("node", node.name, k)] = len(slots)
                outs.append(slots[("node", node.name, k)])
            self._node_slots[node.name] = outs[0] if outs else None
            act = module.get_submodule("activation") if _has_activation(node) else None
            steps.append((node.name, module, act, tuple(ins), tuple(outs)))
        self._steps = steps
        _tie(graph, built)
        self._num_slots = len(slots)
        self._out_slots = tuple(slots[_key(v)] for _, v in graph.outputs)

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor):
        vals = self._run(args, kwargs)
        result = tuple(vals[i] for i in self._out_slots)
        return result[0] if len(result) == 1 else result

    def forward_capture(self, nodes: Sequence[str], *args: torch.Tensor) -> tuple[Any, dict[str, torch.Tensor]]:
        """``(forward(*args), {node: its output})`` for the named nodes (qualified names such as
        ``enc.hidden``; a node's first output, after its ``activation:``). Gradients flow through
        both, so a training loss may read inner activations (e.g. a sparsity penalty)."""
        unknown = [n for n in nodes if self._node_slots.get(n) is None]
        if unknown:
            raise KeyError(f"no node {unknown[0]!r} in model {self.graph_name!r}")
        vals = self._run(args, {})
        result = tuple(vals[i] for i in self._out_slots)
        return (result[0] if len(result) == 1 else result), {n: vals[self._node_slots[n]] for n in nodes}  # type: ignore[index,misc]

    def _run(self, args: tuple, kwargs: dict) -> list[Optional[torch.Tensor]]:
        vals: list[Optional[torch.Tensor]] = [None] * self._num_slots
        if args and kwargs:
            raise TypeError(f"pass the inputs either by position or by name ({', '.join(self.input_names)})")
        if kwargs:
            missing = [n for n in self.input_names if n not in kwargs]
            if missing or len(kwargs) != len(self.input_names):
                raise TypeError(f"expected inputs {self.input_names}, got {sorted(kwargs)}")
            args = tuple(kwargs[n] for n in self.input_names)
        if len(args) != len(self.input_names):
            raise TypeError(f"expected {len(self.input_names)} input(s) ({', '.join(self.input_names)}), got {len(args)}")
        for i, x in enumerate(args):
            vals[i] = x
        for _name, module, act, ins, outs in self._steps:
            y = module(*[vals[i] for i in ins])
            if len(outs) == 1:
                vals[outs[0]] = act(y) if act is not None else y
            else:
                for slot, value in zip(outs, y):
                    vals[slot] = value
        return vals

    def outputs_dict(self, outputs: Any) -> dict[str, torch.Tensor]:
        """Name the result of ``forward``: {output name: tensor}."""
        values = (outputs,) if len(self.output_names) == 1 else tuple(outputs)
        return dict(zip(self.output_names, values))


def compile_model(graph: Graph, seed: Optional[int] = None) -> GraphModule:
    """Build the module for one graph and initialize it. With a seed, the same spec always gives
    bit-identical weights (the global RNG is left untouched)."""
    if seed is None:
        return _compile(graph)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _compile(graph)


def _compile(graph: Graph) -> GraphModule:
    model = GraphModule(graph)
    for node in graph.nodes:
        if not node.share:
            _initialize(model.get_submodule(node.name), node, graph)
    return model


def _build(node: Node) -> nn.Module:
    module = node.layer.build(*[t.shape for t in node.in_types])
    act = getattr(node.layer, "activation", None)
    if act is not None:
        module.add_module("activation", act.build(*[t.shape for t in node.out_types]))
    return module


def _tie(graph: Graph, built: dict[str, nn.Module]) -> None:
    """``tie: {weight: wte}``: the node's parameter becomes node wte's Parameter object (one tensor,
    counted once by ``parameters()``, updated by both uses). Shapes were checked with the graph."""
    for node in graph.nodes:
        for pname, target in node.tie.items():
            owner_path, _, leaf = pname.rpartition(".")
            owner = built[node.name].get_submodule(owner_path)
            setattr(owner, leaf, built[target].get_parameter(pname))


def _has_activation(node: Node) -> bool:
    return getattr(node.layer, "activation", None) is not None


def _register(root: nn.Module, name: str, module: nn.Module) -> None:
    *parents, leaf = name.split(".")
    cur = root
    for part in parents:
        if part not in cur._modules:
            cur.add_module(part, Container())
        cur = cur._modules[part]  # type: ignore[assignment]
    cur.add_module(leaf, module)


def _key(value: Any) -> Any:
    if value[0] == "input":
        return value
    return ("node", value[1], value[2] or 0)


def _initialize(module: nn.Module, node: Node, graph: Graph) -> None:
    done: set[str] = set()
    for pname, param in module.named_parameters():
        if pname.startswith("activation.") or pname in node.tie:
            continue  # a tied parameter is initialized by the node that owns it
        reparam = _PARAMETRIZED.match(pname)
        if reparam:  # weight_norm / spectral_norm: initialize the weight they reparametrize
            prefix, tensor = reparam.group(1), reparam.group(2)
            pname = f"{prefix}.{tensor}" if prefix else tensor
            if pname in done:
                continue
            done.add(pname)
        found = _pick(pname, node, graph)
        if found is None:
            continue
        init, path = found
        try:
            if reparam:
                _set_parametrized(module.get_submodule(reparam.group(1) or ""), reparam.group(2), init)
            else:
                initializers.apply(init, param)
        except ValueError as exc:
            raise SpecError(f"cannot initialize {node.name}.{pname} {tuple(param.shape)} with {init.type}: {exc}",
                            path=path, context=node.context,
                            hint="fan-based initializers need a weight with at least 2 dims") from None


#: ``parametrizations.weight.original0`` (torch.nn.utils.parametrize) -> owner prefix, tensor name
_PARAMETRIZED = re.compile(r"^(?:(.+)\.)?parametrizations\.(\w+)\.original\d*$")


def _set_parametrized(owner: nn.Module, name: str, init: Any) -> None:
    """Initialize a reparametrized tensor through its right inverse (weight_norm derives g and v)."""
    value = getattr(owner, name).detach().clone()
    initializers.apply(init, value)
    with torch.no_grad():
        setattr(owner, name, value)


def _pick(pname: str, node: Node, graph: Graph):
    from fnmatch import fnmatchcase

    for pattern, init in node.init.items():
        if fnmatchcase(pname, pattern):
            return init, node.path + ("init", pattern)
    for pattern, init in node.type_init.items():
        if fnmatchcase(pname, pattern):
            return init, graph.path + ("init", node.layer.tag, pattern)
    if pname.rsplit(".", 1)[-1].startswith("bias"):
        return initializers.Zeros(type="zeros"), node.path
    return None
