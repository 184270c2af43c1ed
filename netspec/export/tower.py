"""One branch of a shared-tower (Siamese / triplet) model: its graph, its module with the trained
weights, and its verified ONNX export — the embedding function without the duplicate branches.

``tower_graph(graph, output)`` keeps the nodes one embedding needs (the branch that owns the
shared weights reads one input); compiled alone, its parameter names are the full model's, so
``tower_module(graph, state_dict)`` loads the trained weights by name.
``export_tower(spec, checkpoint, path)`` writes it as ONNX and verifies it in onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

import torch

from ..check import check
from ..checkpoint import check_same_models, load_checkpoint
from ..errors import ExportError, NetspecError
from ..graph import Graph
from .api import located
from .onnx import export_module
from .verify import verify


def tower_graph(graph: Graph, output: Optional[str] = None) -> Graph:
    """The sub-graph computing embedding ``output`` (default: the first) from the one input it reads."""
    name = output or graph.outputs[0][0]
    outputs = dict(graph.outputs)
    if name not in outputs:
        raise ExportError(f"the model has no output {name!r}", hint=f"outputs: {', '.join(outputs)}")
    needed: set[str] = set()
    used: list[str] = []
    stack = [outputs[name]]
    while stack:
        v = stack.pop()
        if v[0] == "input":
            used += [v[1]] if v[1] not in used else []
        elif v[1] not in needed:
            needed.add(v[1])
            stack.extend(graph.node(v[1]).inputs)
    nodes = [n for n in graph.nodes if n.name in needed]
    if any(n.share for n in nodes) or len(used) != 1:
        raise ExportError(f"embedding {name!r} is not computed by one tower from one input",
                          hint="export the embedding of the branch that owns the shared weights (the first)")
    return Graph(name=graph.name, path=graph.path, inputs={used[0]: graph.inputs[used[0]]}, nodes=nodes,
                 outputs=[(name, outputs[name])], dims=graph.dims)


def tower_module(graph: Graph, state_dict: dict[str, torch.Tensor], output: Optional[str] = None) -> torch.nn.Module:
    """The compiled tower with the trained weights (eval mode)."""
    from ..compiler import compile_model

    tower = compile_model(tower_graph(graph, output))
    own = tower.state_dict()
    tower.load_state_dict({k: state_dict[k] for k in own})
    return tower.eval()


def export_tower(spec_path: str | Path, checkpoint: str | Path, path: str | Path, overrides: Iterable[str] = (),
                 output: Optional[str] = None, opset: int = 18, atol: float = 1e-4) -> dict[str, Any]:
    """Write the tower as ONNX (dynamic batch), verify it in onnxruntime at two batch sizes;
    returns {path, input, output, verified, max_abs}."""
    checked = check(spec_path, list(overrides))
    try:
        ckpt = load_checkpoint(checkpoint)
        check_same_models(checked, ckpt, ["model"])
        graph = checked.graph
        tower = tower_module(graph, ckpt["models"]["model"], output)
        (inp, t), out = next(iter(tower_graph(graph, output).inputs.items())), tower.output_names[0]
        shape = [int(d) if isinstance(d, int) else checked.spec.dims.get(d, 8) for d in t.shape]
        def draw(n: int) -> list[torch.Tensor]:
            return [torch.randint(0, 2, (n, *shape)) if t.dtype == "int64" else torch.randn(n, *shape)]

        export_module(tower, draw(2), [inp], [out], path, dynamic_axes={inp: {0: "batch"}}, opset=opset,
                      metadata={"netspec.model": "tower", "netspec.output": out})
        report = verify(str(path), tower, [draw(1), draw(5)], atol=atol)
    except NetspecError as exc:
        raise located(exc, checked) from None
    if not report.ok:
        raise located(ExportError(f"onnxruntime differs from PyTorch on the tower by {report.worst().max_abs:.3g}"), checked)
    return {"path": str(path), "input": inp, "output": out, "verified": True, "max_abs": report.worst().max_abs}
