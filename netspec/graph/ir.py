"""The graph IR: nodes in topological order, each with input/output shapes, params and FLOPs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from ..errors import SpecPath
from ..layers.base import Layer
from ..layers.shapes import Shape

#: ("input", name) | ("node", qualified_name, index) | ("alias", qualified_name, index);
#: index None means "the node's only output"
ValueId = Union[tuple[str, str], tuple[str, str, Optional[int]]]


@dataclass
class TensorType:
    shape: Shape
    dtype: str = "float32"


@dataclass
class Node:
    name: str
    layer: Layer
    inputs: list[ValueId]
    path: SpecPath
    notes: tuple[tuple[SpecPath, str], ...] = ()
    init: dict[str, Any] = field(default_factory=dict)
    type_init: dict[str, Any] = field(default_factory=dict)
    share: Optional[str] = None
    #: parameter name -> the node whose parameter of that name this node uses (``tie:``)
    tie: dict[str, str] = field(default_factory=dict)
    block: Optional[str] = None  # qualified name of the block instance the node belongs to
    # filled by inference
    in_types: list[TensorType] = field(default_factory=list)
    out_types: list[TensorType] = field(default_factory=list)
    params: int = 0
    flops: int = 0

    @property
    def context(self) -> str:
        return f"{self.layer.tag} '{self.name}'"


@dataclass
class Graph:
    """One model: its inputs, nodes in topological order, and named outputs."""

    name: str
    path: SpecPath
    inputs: dict[str, TensorType]
    nodes: list[Node]
    outputs: list[tuple[str, ValueId]]
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def flops(self) -> int:
        return sum(n.flops for n in self.nodes)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def value_type(self, value: ValueId) -> TensorType:
        if value[0] == "input":
            return self.inputs[value[1]]
        return self.node(value[1]).out_types[value[2] or 0]  # type: ignore[misc]

    def output_types(self) -> dict[str, TensorType]:
        return {name: self.value_type(v) for name, v in self.outputs}
