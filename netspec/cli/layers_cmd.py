"""`netspec layers [NAME]`: the layer registry and the shipped blocks, with parameters and docs."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import JsonOpt
from .output import print_json, stdout_console


def layers(
    name: Annotated[Optional[str], typer.Argument(help="A layer type or shipped block to describe in full.",
                                                  show_default=False)] = None,
    json_: JsonOpt = False,
) -> None:
    """List every layer type with its shape contract and every shipped block with its arguments, or
    describe one (a layer's parameters, a block's arguments and defaults)."""
    from ..blocks import library
    from ..diagnostics import did_you_mean
    from ..docs import block_doc, block_docs, layer_doc, layer_docs
    from ..layers import all_layers

    if name is None:
        docs, blocks = layer_docs(), block_docs()
        if json_:
            print_json({"layers": docs, "blocks": blocks})
            return
        _overview(docs, blocks)
        return
    if name in all_layers():
        doc = layer_doc(name)
        print_json(doc) if json_ else _detail(doc)
        return
    if name in library():
        doc = block_doc(name)
        print_json(doc) if json_ else _block_detail(doc)
        return
    hint = did_you_mean(name, [*all_layers(), *library()])
    raise typer.BadParameter(f"no layer type or shipped block {name!r}" + (f"; {hint}" if hint else ""),
                             param_hint="NAME")


def _overview(docs: list[dict], blocks: list[dict]) -> None:
    from rich.table import Table

    from ..docs import args_text

    console = stdout_console()
    table = Table(title="netspec layers", title_justify="left")
    table.add_column("type")
    table.add_column("family")
    table.add_column("shape contract")
    for d in docs:
        table.add_row(d["type"], d["family"], d["contract"])
    console.print(table)
    console.print()
    console.print("shipped blocks (used like a layer: `- {name: NAME, BLOCK: {ARGS}}`; `netspec layers BLOCK` "
                  "describes one):", markup=False)
    width = max(len(b["type"]) for b in blocks)
    for b in blocks:
        console.print(f"  {b['type']:<{width}}  {b['library']}.yaml: {args_text(b['args']) or 'no arguments'}", markup=False)
        console.print(f"  {'':<{width}}  {b['description'].split('. ')[0].rstrip('.')}", markup=False)


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


def _block_detail(doc: dict) -> None:
    import json

    from rich.table import Table

    console = stdout_console()
    console.print(f"{doc['type']} (shipped block, netspec/blocks/{doc['library']}.yaml:{doc['line']})", markup=False)
    if doc["description"]:
        console.print(doc["description"], markup=False)
    console.print(f"inputs: {', '.join(doc['inputs'])}; outputs: {', '.join(doc['outputs'])}; "
                  f"{doc['layers']} layer(s)", markup=False)
    if doc["args"]:
        table = Table(title="arguments", title_justify="left")
        for col in ("name", "type", "default", "description"):
            table.add_column(col)
        for a in doc["args"]:
            table.add_row(a["name"], a["type"], "required" if a["required"] else json.dumps(a["default"]),
                          a["description"])
        console.print(table, markup=False)
    console.print("example:")
    console.print(f"  {doc['example']}", markup=False)
