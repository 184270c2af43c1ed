"""Diagram -> Graphviz DOT: boxes with record-like multi-line labels, clusters as nested subgraphs."""

from __future__ import annotations

from .diagram import Box, Cluster, Diagram

STYLE = {
    "input": 'shape=box, style="rounded,filled", fillcolor="#e8f4ea", color="#4a8a57"',
    "output": 'shape=box, style="rounded,filled", fillcolor="#fdf1e3", color="#c07a2c"',
    "layer": 'shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#5b7db1"',
}


def dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def box_line(box: Box) -> str:
    lines = box.lines()
    if box.kind == "output":
        lines[0] = "output: " + lines[0]
    label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return f'{box.id} [label="{label}", {STYLE[box.kind]}];'


def _cluster(c: Cluster, indent: str, out: list[str]) -> None:
    out.append(f"{indent}subgraph {c.id} {{")
    out.append(f'{indent}  label={dot_str(c.label)}; style="rounded,dashed"; color="#999999"; fontsize=11;')
    for b in c.boxes:
        out.append(f"{indent}  {box_line(b)}")
    for sub in c.clusters:
        _cluster(sub, indent + "  ", out)
    out.append(f"{indent}}}")


def to_dot(d: Diagram, direction: str = "TB") -> str:
    out = [f"digraph {dot_str(d.title or 'netspec')} {{",
           f"  rankdir={direction}; fontname=\"Helvetica\"; labelloc=t; label={dot_str(d.title)};",
           '  node [fontname="Helvetica", fontsize=10];',
           '  edge [color="#555555", arrowsize=0.7, fontsize=9];']
    for b in d.root.boxes:
        out.append(f"  {box_line(b)}")
    for c in d.root.clusters:
        _cluster(c, "  ", out)
    for src, dst, label in d.edges:
        out.append(f"  {src} -> {dst}" + (f" [label={dot_str(label)}];" if label else ";"))
    out.append("}")
    return "\n".join(out) + "\n"
