"""`netspec summary SPEC`: every node with its type, inputs, output shape, params and FLOPs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, selected_models, user_errors
from .output import print_json, stdout_console


def summary(
    spec: SpecArg,
    set_: SetOpt = None,
    json_: JsonOpt = False,
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model of a multi-model spec.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", min=1, help="Also estimate the memory of one training step at this batch size.")] = None,
) -> None:
    """Show the model as a table of nodes with shapes, parameters and FLOPs (per sample)."""
    from ..check import check
    from ..summary import graph_summary
    from ..summary import summary as summarize

    with user_errors(str(spec)):
        checked = check(spec, set_ or [])
    graphs = selected_models(checked.graphs, model)
    memory = _memory(checked, graphs, batch_size) if batch_size else None
    if json_:
        print_json({**summarize(graphs), **({"training_memory": memory} if memory else {})})
        return
    console = stdout_console()
    for name, graph in graphs.items():
        _table(console, name if len(checked.graphs) > 1 else (checked.spec.name or spec.stem), graph_summary(graph))
    if memory:
        _memory_table(console, memory)


def _memory(checked, graphs: dict, batch_size: int) -> dict:
    """Training-memory estimate per model (summary_extras.training_memory), with the spec's optimizer."""
    from ..optimizers import optimizer_for
    from ..summary_extras import training_memory

    train = checked.spec.train
    out = {"batch_size": batch_size, "models": {}}
    for name, graph in graphs.items():
        out["models"][name] = training_memory(graph, batch_size, optimizer_for(train, name), train.precision if train else "fp32")
    out["total"] = sum(m["total"] for m in out["models"].values())
    return out


def _memory_table(console, memory: dict) -> None:
    from rich.table import Table

    from ..summary_extras import human_bytes

    table = Table(title=f"training memory estimate, batch size {memory['batch_size']} (a lower bound: no framework workspaces)",
                  title_justify="left")
    table.add_column("model")
    parts = ("weights", "gradients", "optimizer_state", "activations", "inputs", "total")
    for p in parts:
        table.add_column(p.replace("_", " "), justify="right")
    for name, m in memory["models"].items():
        table.add_row(name, *(human_bytes(m[p]) for p in parts))
    console.print(table)


def _table(console, title: str, data: dict) -> None:
    from rich.table import Table

    from ..summary_extras import human_bytes

    table = Table(title=title, title_justify="left", show_lines=False)
    for col, kw in (("node", {}), ("type", {}), ("inputs", {}), ("output shape", {}),
                    ("params", {"justify": "right"}), ("FLOPs", {"justify": "right"}),
                    ("receptive field", {"justify": "right"}), ("activations", {"justify": "right"})):
        table.add_column(col, **kw)
    for name, spec in data["inputs"].items():
        table.add_row(name, f"input {spec['dtype']}", "", _shape(spec["shape"]), "", "", style="dim")
    for n in data["nodes"]:
        shape = n["output_shape"]
        shown = " ".join(_shape(s) for s in shape) if shape and isinstance(shape[0], list) else _shape(shape)
        kind = n["type"] + (f" (shares {n['shares']})" if "shares" in n else "")
        rf = "×".join(str(r) for r in n["receptive_field"]) if "receptive_field" in n else ""
        table.add_row(n["name"], kind, ", ".join(n["inputs"]), shown, f"{n['params']:,}", _flops(n["flops"]), rf,
                      human_bytes(n["activation_bytes"]))
    table.add_section()
    table.add_row("total", "", "", ", ".join(f"{k} {_shape(v)}" for k, v in data["outputs"].items()),
                  f"{data['params']:,}", _flops(data["flops"]), "", human_bytes(sum(n["activation_bytes"] for n in data["nodes"])),
                  style="bold")
    console.print(table)


def _shape(shape: list) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _flops(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
