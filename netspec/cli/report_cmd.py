"""`netspec report RUN_DIR` rebuilds a run's plots and report.html; `netspec compare RUN_DIR...`
plots several runs on shared axes."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from ..errors import NetspecError
from .common import output_folder
from .output import EXIT_INVALID, debug_enabled

RunDirs = Annotated[list[Path], typer.Argument(help="Run directories written by `netspec train`.", show_default=False,
                                               metavar="RUN_DIR...")]


@contextmanager
def run_errors(command: str) -> Iterator[None]:
    """A NetspecError about a run directory (not a spec): message and hint, exit code 1."""
    try:
        yield
    except NetspecError as exc:
        if debug_enabled():
            raise
        typer.echo(f"netspec {command}: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), err=True)
        raise typer.Exit(EXIT_INVALID) from None


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `netspec train`.", show_default=False)],
) -> None:
    """Rebuild RUN_DIR/plots/*.svg and RUN_DIR/report.html from the run's files; prints the report's path."""
    from ..report import write_report

    with run_errors("report"):
        path = write_report(run_dir)
    typer.echo(str(path))


def compare(
    run_dirs: RunDirs,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (default: compare/).",
                                                    callback=output_folder)] = None,
) -> None:
    """Plot several runs on shared axes (one PNG per metric, plus lr) and write compare.html; prints the files."""
    from ..report.compare import compare_runs

    if len(run_dirs) < 2:
        raise typer.BadParameter("give at least two run directories", param_hint="RUN_DIR...")
    with run_errors("compare"):
        files = compare_runs(run_dirs, out or Path("compare"))
    for f in files:
        typer.echo(str(f))
