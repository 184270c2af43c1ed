"""`netspec validate PATH...`: check specs up to shape inference, without importing torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..diagnostics import as_json
from ..errors import NetspecError
from .common import FormatOpt, SetOpt
from .output import EXIT_INVALID, Format, debug_enabled, diagnostics_of, emit_diagnostics


def spec_files(paths: list[Path]) -> list[Path]:
    """Files as given; directories expand to their *.yaml / *.yml files, recursively and sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
        elif p.exists():
            out.append(p)
        else:
            raise typer.BadParameter(f"no such file or directory: {p}", param_hint="PATH")
    return out


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Spec files or directories of specs.", show_default=False, metavar="PATH...")],
    set_: SetOpt = None,
    fmt: FormatOpt = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only problems.")] = False,
) -> None:
    """Check specs: schema, references, blocks, shapes and constraints. Exit 0 if all are valid, 1 if not."""
    from ..check import check
    from ..resources import estimate

    files = spec_files(paths)
    if not files:
        where = ", ".join(str(p) for p in paths)
        raise typer.BadParameter(f"no spec files found in {where} (looked for *.yaml and *.yml)", param_hint="PATH")
    report = []
    failed = False
    for f in files:
        entry: dict = {"file": str(f), "valid": True, "diagnostics": []}
        try:
            checked = check(f, set_ or [])
        except NetspecError as exc:
            if debug_enabled():
                raise
            diags = diagnostics_of(exc, str(f))
            entry.update(valid=False, diagnostics=[as_json(d) for d in diags])
            failed = True
            _line(fmt, quiet, f"FAIL {f}: {len(diags)} problem(s)")
            emit_diagnostics(diags, fmt)
        else:
            warns = [d for w in checked.warnings for d in diagnostics_of(w, str(f))]
            entry["diagnostics"] = [as_json(d) for d in warns]
            entry["params"] = sum(g.params for g in checked.graphs.values())
            entry["flops"] = sum(g.flops for g in checked.graphs.values())
            entry["train_memory_bytes"] = estimate(checked.spec, checked.graphs).total  # lower bound, see resources.py
            if warns and strict:
                entry["valid"] = False
                failed = True
            name = checked.spec.name or f.stem
            status = "ok  " if entry["valid"] else "FAIL"
            _line(fmt, quiet, f"{status} {f}: {name}, {entry['params']:,} params, {entry['flops']:,} FLOPs"
                  + (f", {len(warns)} warning(s)" if warns else ""))
            emit_diagnostics(warns, fmt)
        report.append(entry)
    if fmt is Format.json:
        typer.echo(json.dumps({"valid": not failed, "specs": report}, indent=2))
    if failed:
        raise typer.Exit(EXIT_INVALID)


def _line(fmt: Format, quiet: bool, text: str) -> None:
    if fmt is not Format.json and not (quiet and text.startswith("ok")):
        typer.echo(text)
