"""`netspec graph`: Mermaid output with a checked structure (ids, labels, nested clusters, edges
that match the graph), DOT, SVG through Graphviz, and a clear install message without it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from conftest import SPECS, run_cli
from netspec.check import check
from system_tools import ensure_tool

ID = r"[A-Za-z_][A-Za-z0-9_]*"
NODE = re.compile(rf'^({ID})(\["|\(\[")(.*?)("\]|"\]\))$')
EDGE = re.compile(rf'^({ID}) -->(?:\|"([^"]*)"\|)? ({ID})$')
SUBGRAPH = re.compile(rf'^subgraph ({ID}) \["([^"]*)"\]$')


def parse_mermaid(text: str) -> dict:
    """A strict reader of the flowchart subset netspec writes; fails on anything else."""
    lines = text.splitlines()
    if lines[0] == "---":
        end = lines.index("---", 1)
        assert all(re.match(r"^title: [^\"]+$", ln) for ln in lines[1:end])
        lines = lines[end + 1:]
    assert lines[0] in ("flowchart TB", "flowchart LR"), lines[0]
    nodes, edges, clusters, stack = {}, [], {}, []
    for raw in lines[1:]:
        line = raw.strip()
        if m := SUBGRAPH.match(line):
            assert m.group(1) not in clusters and m.group(1) not in nodes
            clusters[m.group(1)] = {"label": m.group(2), "parent": stack[-1] if stack else None, "nodes": []}
            stack.append(m.group(1))
        elif line == "end":
            stack.pop()
        elif line.startswith("direction "):
            assert stack and line in ("direction TB", "direction LR")
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(3), m.group(2) or ""))
        elif m := NODE.match(line):
            ident, label = m.group(1), m.group(3)
            assert ident not in nodes and ident not in clusters, ident
            assert '"' not in label, label
            nodes[ident] = {"label": label.split("<br/>"), "cluster": stack[-1] if stack else None}
            if stack:
                clusters[stack[-1]]["nodes"].append(ident)
        elif line.startswith(("classDef ", "class ")):
            continue
        else:
            raise AssertionError(f"not Mermaid flowchart syntax netspec writes: {raw!r}")
    assert not stack, "unclosed subgraph"
    for a, b, _ in edges:
        assert a in nodes and b in nodes, (a, b)
    return {"nodes": nodes, "edges": edges, "clusters": clusters}


def cluster_path(parsed: dict, cluster: str | None) -> list[str]:
    out = []
    while cluster is not None:
        out.insert(0, parsed["clusters"][cluster]["label"])
        cluster = parsed["clusters"][cluster]["parent"]
    return out


def test_resnet18_mermaid_structure():
    proc = run_cli("graph", str(SPECS / "resnet18.yaml"), "--format", "mermaid")
    assert proc.returncode == 0, proc.stderr
    parsed = parse_mermaid(proc.stdout)
    graph = check(SPECS / "resnet18.yaml").graph
    assert len(parsed["nodes"]) == len(graph.nodes) + 2  # + the image input and the fc output
    by_name = {}
    for node in graph.nodes:
        short = node.name.rsplit(".", 1)[-1]
        matches = [i for i, n in parsed["nodes"].items() if n["label"][0] == f"{short}: {node.layer.tag}"
                   and cluster_path(parsed, n["cluster"])[-1:] == ([node.name.rsplit(".", 1)[0]] if "." in node.name else [])]
        assert len(matches) == 1, node.name
        by_name[node.name] = matches[0]
        label = parsed["nodes"][matches[0]]["label"]
        assert label[1] == "(" + ", ".join(map(str, node.out_types[0].shape)) + ("," if len(node.out_types[0].shape) == 1 else "") + ")"
        if node.params:
            assert label[2] == f"{node.params:,} params"
    # blocks as nested clusters: layer1 > layer1.0 > conv1
    assert cluster_path(parsed, parsed["nodes"][by_name["layer1.0.conv1"]]["cluster"]) == ["layer1", "layer1.0"]
    assert cluster_path(parsed, parsed["nodes"][by_name["layer4.1.bn2"]]["cluster"]) == ["layer4", "layer4.1"]
    assert parsed["nodes"][by_name["conv1"]]["cluster"] is None
    assert sum(1 for n in parsed["nodes"].values() if ": conv2d" in n["label"][0]) == 17  # + 8 shortcut nodes
    assert sum(1 for n in parsed["nodes"].values() if ": shortcut" in n["label"][0]) == 8
    # every wire of the graph is an edge, and nothing else
    expected = {(by_name[v[1]] if v[0] == "node" else "in_0", by_name[n.name]) for n in graph.nodes for v in n.inputs}
    expected.add((by_name["fc"], "out_0"))
    assert {(a, b) for a, b, _ in parsed["edges"]} == expected
    assert parsed["nodes"]["out_0"]["label"] == ["output: fc"] and parsed["nodes"]["in_0"]["label"] == ["image", "(3, 224, 224)"]


def test_multi_output_edges_are_labelled(write_spec):
    spec = write_spec("""netspec: 1
inputs: {x: {shape: [8]}}
model:
  layers:
    - {name: parts, split: {split_size_or_sections: [3, 5]}}
    - {name: a, linear: {out_features: 2}, inputs: [parts.1]}
  outputs: [a]
""")
    parsed = parse_mermaid(run_cli("graph", str(spec)).stdout)
    assert [lbl for _, _, lbl in parsed["edges"]] == ["", "1", ""]


def test_multi_model_specs_draw_one_cluster_per_model():
    parsed = parse_mermaid(run_cli("graph", str(SPECS / "dcgan.yaml")).stdout)
    tops = [c["label"] for c in parsed["clusters"].values() if c["parent"] is None]
    assert tops == ["model generator", "model discriminator"]
    assert run_cli("graph", str(SPECS / "dcgan.yaml"), "--model", "nope").returncode == 2


def test_dot_and_svg_with_graphviz(tmp_path):
    ensure_tool(("dot",), "graphviz")
    proc = run_cli("graph", str(SPECS / "resnet18.yaml"), "--format", "dot")
    assert proc.returncode == 0 and proc.stdout.startswith('digraph "resnet18" {')
    assert proc.stdout.count("subgraph cluster_") == 12  # 4 stages + 8 blocks
    out = tmp_path / "r18.svg"
    proc = run_cli("graph", str(SPECS / "resnet18.yaml"), "--format", "svg", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter() if t.tag.endswith("text")]
    assert "layer1.0" in texts and "conv1: conv2d" in texts and "11,689,512" not in texts
    png = tmp_path / "r18.png"
    assert run_cli("graph", str(SPECS / "lenet5.yaml"), "--format", "png", "-o", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_without_graphviz_says_how_to_install_it(tmp_path, fmt):
    proc = run_cli("graph", str(SPECS / "lenet5.yaml"), "--format", fmt, env={"PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert "Graphviz" in proc.stderr and "apt-get install graphviz" in proc.stderr and "brew install graphviz" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_invalid_spec_is_a_located_diagnostic(write_spec):
    spec = write_spec("netspec: 1\ninputs: {x: {shape: [4]}}\nmodel:\n  layers:\n    - conv2d: {out_channels: 3, kernel_size: 3}\n")
    proc = run_cli("graph", str(spec))
    assert proc.returncode == 1 and f"{spec}:5:" in proc.stderr
