"""`netspec summary SPEC`: every node with its type, inputs, output shape, params and FLOPs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, user_errors
from .output import print_json, stdout_console


def summary(
    spec: SpecArg,
    set_: SetOpt = None,
    json_: JsonOpt = False,
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model of a multi-model spec.")] = None,
) -> None:
    """Show the model as a table of nodes with shapes, parameters and FLOPs (per sample)."""
    from ..check import check
    from ..summary import graph_summary, summary as summarize

    with user_errors(str(spec)):
        checked = check(spec, set_ or [])
    graphs = checked.graphs
    if model is not None:
        if model not in graphs:
            raise typer.BadParameter(f"no model {model!r}; the spec has: {', '.join(graphs)}", param_hint="--model")
        graphs = {model: graphs[model]}
    if json_:
        print_json(summarize(graphs))
        return
    console = stdout_console()
    for name, graph in graphs.items():
        _table(console, name if len(checked.graphs) > 1 else (checked.spec.name or spec.stem), graph_summary(graph))


def _table(console, title: str, data: dict) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for col, kw in (("node", {}), ("type", {}), ("inputs", {}), ("output shape", {}),
                    ("params", {"justify": "right"}), ("FLOPs", {"justify": "right"})):
        table.add_column(col, **kw)
    for name, spec in data["inputs"].items():
        table.add_row(name, f"input {spec['dtype']}", "", _shape(spec["shape"]), "", "", style="dim")
    for n in data["nodes"]:
        shape = n["output_shape"]
        shown = " ".join(_shape(s) for s in shape) if shape and isinstance(shape[0], list) else _shape(shape)
        kind = n["type"] + (f" (shares {n['shares']})" if "shares" in n else "")
        table.add_row(n["name"], kind, ", ".join(n["inputs"]), shown, f"{n['params']:,}", _flops(n["flops"]))
    table.add_section()
    table.add_row("total", "", "", ", ".join(f"{k} {_shape(v)}" for k, v in data["outputs"].items()),
                  f"{data['params']:,}", _flops(data["flops"]), style="bold")
    console.print(table)


def _shape(shape: list) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _flops(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
