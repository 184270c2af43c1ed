"""Options shared by several commands, and the one place that turns errors into exits."""

from __future__ import annotations

import os
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


def device_option(value: Optional[str]) -> Optional[str]:
    """A typer callback: --device names a device netspec runs on (torch's own error was an internal error)."""
    from ..spec.train import device_problem

    problem = device_problem(value) if value is not None else None
    if problem:
        raise typer.BadParameter(problem)
    return value


DeviceOpt = Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.",
                                                  callback=device_option)]


def output_file(value: Optional[Path]) -> Optional[Path]:
    """A typer callback: the file an option names can be written, checked before any work starts."""
    if value is None or str(value) == "-":
        return value
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file name")
    if value.is_fifo() or value.is_socket() or value.is_block_device():  # writing one would wait for a reader
        kind = "a FIFO" if value.is_fifo() else "a socket" if value.is_socket() else "a block device"
        raise typer.BadParameter(f"{value} is {kind}, not a file; give a file name")
    folder = value.parent
    if not folder.exists():
        raise typer.BadParameter(f"the folder {folder} does not exist; create it first or pick another path")
    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise typer.BadParameter(f"cannot write in {folder} (permission denied)")
    return value


def output_file_or_folder(value: Optional[Path]) -> Optional[Path]:
    """A typer callback for an output that may be a folder or a file (export -o, which creates missing
    folders): not a FIFO, socket or device, and not under a file."""
    if value is None or value.is_dir():
        return value
    if value.is_fifo() or value.is_socket() or value.is_block_device():  # writing one would wait for a reader
        kind = "a FIFO" if value.is_fifo() else "a socket" if value.is_socket() else "a block device"
        raise typer.BadParameter(f"{value} is {kind}, not a file; give a file name")
    above = next((p for p in value.absolute().parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise typer.BadParameter(f"{above} is a file, so {value} cannot be created")
    return value


def output_folder(value: Optional[Path]) -> Optional[Path]:
    """A typer callback: the folder an option names is a folder or can become one."""
    if value is None:
        return value
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder; give a new or existing folder")
    above = next((p for p in value.absolute().parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise typer.BadParameter(f"{above} is a file, so {value} cannot be created")
    return value


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
