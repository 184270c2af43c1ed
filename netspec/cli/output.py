"""Rendering of results and diagnostics. Results go to stdout; diagnostics and progress to stderr."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import Iterable

import typer

from ..diagnostics import Diagnostic, as_json, diagnose, format_github, format_text
from ..errors import NetspecError, SpecErrors

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def debug_enabled() -> bool:
    return os.environ.get("NETSPEC_DEBUG", "") not in ("", "0", "false")


def diagnostics_of(error: NetspecError, file: str) -> list[Diagnostic]:
    diags = diagnose(error, getattr(error, "source", None), file)
    return sorted(diags, key=lambda d: (d.file != file, d.file, d.line, d.col))


def emit_diagnostics(diags: Iterable[Diagnostic], fmt: Format = Format.text) -> None:
    for d in diags:
        if fmt is Format.github:
            typer.echo(format_github(d))
        elif fmt is Format.text:
            typer.echo(format_text(d), err=True)


def fail(error: NetspecError, file: str = "<spec>", fmt: Format = Format.text) -> "typer.Exit":
    """Report a user error and return the Exit to raise (exit code 1; a run stopped by a signal
    carries its own, 128 + the signal number)."""
    diags = diagnostics_of(error, file)
    if fmt is Format.json:
        typer.echo(json.dumps({"ok": False, "diagnostics": [as_json(d) for d in diags]}, indent=2))
    else:
        emit_diagnostics(diags, fmt)
    return typer.Exit(getattr(error, "exit_code", EXIT_INVALID))


def count(error: NetspecError) -> int:
    return len(error.errors) if isinstance(error, SpecErrors) else 1


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def stdout_console():
    from rich.console import Console

    return Console(file=sys.stdout, soft_wrap=True)
