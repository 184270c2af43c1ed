"""Options shared by several commands, and the one place that turns errors into exits."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from ..errors import NetspecError
from .output import Format, debug_enabled, fail

SpecArg = Annotated[Path, typer.Argument(help="A spec file (YAML).", show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a spec value: KEY=VALUE (e.g. train.optimizer.lr=3.0e-4); repeatable.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Diagnostics as text, json, or GitHub annotations.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def selected_models(graphs: dict, model: Optional[str]) -> dict:
    """The graphs ``--model NAME`` selects (all without it); an unknown name is a usage error."""
    if model is None:
        return graphs
    if model not in graphs:
        raise typer.BadParameter(f"no model {model!r}; the spec has: {', '.join(graphs)}", param_hint="--model")
    return {model: graphs[model]}


@contextmanager
def user_errors(file: str, fmt: Format = Format.text) -> Iterator[None]:
    """Turn NetspecErrors raised inside into diagnostics and exit code 1 (tracebacks with --debug)."""
    try:
        yield
    except NetspecError as exc:
        if debug_enabled():
            raise
        raise fail(exc, file, fmt) from None
