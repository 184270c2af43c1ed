"""Graph IR -> Diagram: boxes with labels, nested clusters from hierarchical node names, edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..graph import Graph


@dataclass
class Box:
    id: str  # a safe identifier: letters, digits and underscores
    kind: str  # "input" | "layer" | "output"
    name: str  # the node's (or input's / output's) name in the spec
    type: str = ""  # layer type, or the input's dtype
    shape: str = ""
    params: int = 0

    @property
    def title(self) -> str:
        short = self.name.rsplit(".", 1)[-1] if self.kind == "layer" else self.name
        return f"{short}: {self.type}" if self.type and self.kind == "layer" else short

    def lines(self) -> list[str]:
        """The label, line by line: title, output shape, params (when any)."""
        out = [self.title, self.shape] if self.shape else [self.title]
        if self.params:
            out.append(f"{self.params:,} params")
        return out


@dataclass
class Cluster:
    name: str  # full dotted prefix, e.g. layer1.0 (a model's name at the top of a multi-model diagram)
    label: str
    boxes: list[Box] = field(default_factory=list)
    clusters: list["Cluster"] = field(default_factory=list)
    id: str = ""

    def walk(self):
        yield self
        for c in self.clusters:
            yield from c.walk()

    def all_boxes(self) -> list[Box]:
        return [b for c in self.walk() for b in c.boxes]


@dataclass
class Diagram:
    title: str
    root: Cluster  # its boxes are top level; the root itself is not drawn as a cluster
    edges: list[tuple[str, str, str]]  # (from id, to id, label)

    def boxes(self) -> list[Box]:
        return self.root.all_boxes()


def shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def diagram(graphs: dict[str, Graph], title: str = "") -> Diagram:
    root = Cluster("", title)
    edges: list[tuple[str, str, str]] = []
    counter = [0]
    several = len(graphs) > 1
    for name, graph in graphs.items():
        target = root
        if several:
            target = Cluster(name, f"model {name}")
            root.clusters.append(target)
        _add_graph(graph, target, edges, counter, prefix=f"m{len(root.clusters)}_" if several else "")
    for i, c in enumerate(c for c in root.walk() if c is not root):
        c.id = f"cluster_{i}"
    return Diagram(title, root, edges)


def _add_graph(graph: Graph, top: Cluster, edges: list, counter: list[int], prefix: str) -> None:
    ids: dict[str, str] = {}
    names = {n.name for n in graph.nodes}
    for inp, t in graph.inputs.items():
        ids["input:" + inp] = f"{prefix}in_{len(ids)}"
        top.boxes.append(Box(ids["input:" + inp], "input", inp, t.dtype, shape_text(t.shape)))
    clusters: dict[str, Cluster] = {}
    for node in graph.nodes:
        counter[0] += 1
        ids[node.name] = f"{prefix}n{counter[0]}"
        out = node.out_types[0].shape if len(node.out_types) == 1 else None
        shape = shape_text(out) if out is not None else " ".join(shape_text(t.shape) for t in node.out_types)
        box = Box(ids[node.name], "layer", node.name, node.layer.tag, shape, node.params)
        _cluster_of(node.name, names, top, clusters).boxes.append(box)
        for value in node.inputs:
            src, label = _source(value, ids, graph)
            edges.append((src, ids[node.name], label))
    for i, (out_name, value) in enumerate(graph.outputs):
        oid = f"{prefix}out_{i}"
        top.boxes.append(Box(oid, "output", out_name, "", ""))
        src, label = _source(value, ids, graph)
        edges.append((src, oid, label))


def _source(value, ids: dict[str, str], graph: Graph) -> tuple[str, str]:
    if value[0] == "input":
        return ids["input:" + value[1]], ""
    index: Optional[int] = value[2]
    several = len(graph.node(value[1]).out_types) > 1
    return ids[value[1]], (str(index) if several and index is not None else "")


def _cluster_of(name: str, names: set[str], top: Cluster, clusters: dict[str, Cluster]) -> Cluster:
    """The innermost cluster of a dotted node name; prefixes that are nodes themselves are not clusters."""
    parts = name.split(".")[:-1]
    current = top
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in names:
            continue
        key = f"{top.name}/{prefix}"
        if key not in clusters:
            clusters[key] = Cluster(prefix, prefix)
            current.clusters.append(clusters[key])
        current = clusters[key]
    return current
