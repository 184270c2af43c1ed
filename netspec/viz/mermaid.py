"""Diagram -> a Mermaid flowchart (renders in GitHub Markdown inside a ```mermaid block).

Ids are safe identifiers; every label is a quoted string with ``"`` written as ``#quot;`` and
lines joined by ``<br/>``; clusters are nested ``subgraph id ["label"] ... end`` blocks.
"""

from __future__ import annotations

from .diagram import Box, Cluster, Diagram

SHAPES = {"input": ('(["', '"])'), "output": ('(["', '"])'), "layer": ('["', '"]')}


def quote(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("`", "#96;"))


def box_line(box: Box) -> str:
    open_, close = SHAPES[box.kind]
    label = "<br/>".join(quote(line) for line in box.lines())
    if box.kind == "output":
        label = "output: " + label
    return f"{box.id}{open_}{label}{close}"


def _cluster(c: Cluster, indent: str, out: list[str]) -> None:
    out.append(f'{indent}subgraph {c.id} ["{quote(c.label)}"]')
    out.append(f"{indent}  direction TB")
    for b in c.boxes:
        out.append(f"{indent}  {box_line(b)}")
    for sub in c.clusters:
        _cluster(sub, indent + "  ", out)
    out.append(f"{indent}end")


def to_mermaid(d: Diagram, direction: str = "TB") -> str:
    out = [f"flowchart {direction}"]
    if d.title:
        out.insert(0, f"---\ntitle: {quote(d.title)}\n---")
    for b in d.root.boxes:
        out.append(f"  {box_line(b)}")
    for c in d.root.clusters:
        _cluster(c, "  ", out)
    for src, dst, label in d.edges:
        out.append(f'  {src} -->|"{quote(label)}"| {dst}' if label else f"  {src} --> {dst}")
    out += ["  classDef input fill:#e8f4ea,stroke:#4a8a57", "  classDef output fill:#fdf1e3,stroke:#c07a2c"]
    ins = [b.id for b in d.boxes() if b.kind == "input"]
    outs = [b.id for b in d.boxes() if b.kind == "output"]
    if ins:
        out.append(f"  class {','.join(ins)} input")
    if outs:
        out.append(f"  class {','.join(outs)} output")
    return "\n".join(out) + "\n"
