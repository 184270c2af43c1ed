"""`netspec graph SPEC --format mermaid|dot|svg|png`: an architecture diagram from the validated spec."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import NetspecError
from .common import SetOpt, SpecArg, output_file, selected_models, user_errors
from .output import EXIT_INVALID


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"


class Direction(str, Enum):
    TB = "TB"
    LR = "LR"


def graph(
    spec: SpecArg,
    set_: SetOpt = None,
    fmt: Annotated[GraphFormat, typer.Option(
        "--format", "-f", help="mermaid (GitHub Markdown), dot, or svg/png (need Graphviz).")] = GraphFormat.mermaid,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to FILE instead of stdout.", callback=output_file)] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model of a multi-model spec.")] = None,
    direction: Annotated[Direction, typer.Option("--direction", help="TB (top to bottom) or LR (left to right).")] = Direction.TB,
) -> None:
    """Draw the model: nodes with type, output shape and params; block uses as nested clusters. No training, no weights."""
    from ..check import check
    from ..viz import diagram, render_dot, to_dot, to_mermaid

    with user_errors(str(spec)):
        checked = check(spec, set_ or [])
    graphs = selected_models(checked.graphs, model)
    d = diagram(graphs, checked.spec.name or spec.stem)
    if fmt is GraphFormat.mermaid:
        data: bytes = to_mermaid(d, direction.value).encode("utf-8")
    else:
        text = to_dot(d, direction.value)
        data = text.encode("utf-8")
        if fmt in (GraphFormat.svg, GraphFormat.png):
            try:
                data = render_dot(text, fmt.value)
            except NetspecError as exc:  # not about the spec: no file:line:col
                typer.echo(f"netspec graph: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), err=True)
                raise typer.Exit(EXIT_INVALID) from None
    if output is None:
        write_stdout(data, binary=fmt is GraphFormat.png)
    else:
        output.write_bytes(data)
        typer.echo(f"wrote {output}", err=True)


def write_stdout(data: bytes, binary: bool) -> None:
    """``data`` to standard output: its byte stream where it has one (a terminal, a pipe), else as text
    (a notebook's or a test runner's captured stream); PNG bytes have no text form, so ask for -o."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is not None:
        stream.write(data)
    elif binary:
        typer.echo("netspec graph: standard output takes text here; write the PNG to a file\n"
                   "  hint: netspec graph SPEC --format png -o model.png", err=True)
        raise typer.Exit(EXIT_INVALID)
    else:
        sys.stdout.write(data.decode("utf-8"))
    sys.stdout.flush()
