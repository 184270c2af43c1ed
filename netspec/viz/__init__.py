"""Architecture diagrams from a checked spec (no torch, no weights).

``diagram(graphs)`` turns graph IRs into a Diagram: input, layer and output boxes (type, output
shape, params) in nested clusters — a node named ``layer1.0.conv1`` sits in cluster ``layer1.0``
inside ``layer1``, because block uses and repeats name their nodes hierarchically — and the edges
between them. ``to_mermaid`` (GitHub renders it in Markdown) and ``to_dot`` (Graphviz) write it
out; ``render_dot(text, "svg" | "png")`` runs Graphviz's ``dot`` when it is installed.
"""

from .diagram import Box, Cluster, Diagram, diagram
from .dot import to_dot
from .graphviz import GraphvizMissing, render_dot
from .mermaid import to_mermaid

__all__ = ["Box", "Cluster", "Diagram", "GraphvizMissing", "diagram", "render_dot", "to_dot", "to_mermaid"]
