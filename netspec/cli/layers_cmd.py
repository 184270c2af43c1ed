"""`netspec layers [NAME]`: the layer registry with parameters and docs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import JsonOpt
from .output import print_json, stdout_console


def layers(
    name: Annotated[Optional[str], typer.Argument(help="A layer type to describe in full.", show_default=False)] = None,
    json_: JsonOpt = False,
) -> None:
    """List every layer type with its shape contract, or describe one with its parameters."""
    from ..diagnostics import did_you_mean
    from ..docs import layer_doc, layer_docs

    if name is None:
        docs = layer_docs()
        if json_:
            print_json(docs)
            return
        _overview(docs)
        return
    from ..layers import all_layers

    if name not in all_layers():
        hint = did_you_mean(name, all_layers())
        raise typer.BadParameter(f"no layer type {name!r}" + (f"; {hint}" if hint else ""), param_hint="NAME")
    doc = layer_doc(name)
    if json_:
        print_json(doc)
        return
    _detail(doc)


def _overview(docs: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="netspec layers", title_justify="left")
    table.add_column("type")
    table.add_column("family")
    table.add_column("shape contract")
    for d in docs:
        table.add_row(d["type"], d["family"], d["contract"])
    stdout_console().print(table)


def _detail(doc: dict) -> None:
    from rich.table import Table

    console = stdout_console()
    console.print(f"[bold]{doc['type']}[/bold] ({doc['family']}): {doc['contract']}")
    if doc["description"]:
        console.print(doc["description"])
    console.print(f"inputs: {doc['inputs']}")
    if doc["params"]:
        table = Table(title="parameters", title_justify="left")
        for col in ("name", "type", "default", "description"):
            table.add_column(col)
        for p in doc["params"]:
            table.add_row(p["name"], p["type"], "required" if p["required"] else str(p["default"]), p["description"])
        console.print(table)
    console.print("examples:")
    for ex in doc["examples"]:
        console.print(f"  {ex}", markup=False)
