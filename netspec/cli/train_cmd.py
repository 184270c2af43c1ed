"""`netspec train SPEC`: train the spec's model on its data; results in a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import JsonOpt, SetOpt, SpecArg, user_errors


def train(
    spec: SpecArg,
    set_: SetOpt = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Override train.epochs.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default runs/NAME-TIMESTAMP).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue from a run directory or checkpoint.")] = None,
    json_: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train a spec: data, model, loss and optimizer from the YAML; writes metrics.jsonl and checkpoints."""
    from ..train.api import train_spec
    from .progress import reporter_for

    reporter = reporter_for(quiet or json_)
    try:
        with user_errors(str(spec)):
            result = train_spec(spec, set_ or [], epochs=epochs, device=device, out=out, resume=resume, reporter=reporter)
    finally:
        if hasattr(reporter, "close"):
            reporter.close()
    final = {k: v for k, v in result.metrics.items() if k.startswith(("train.", "val.", "test."))}
    summary = {"run_dir": result.run_dir, "epochs": result.epochs, "best_epoch": result.best_epoch,
               "stopped_epoch": result.stopped_epoch, "train_time_s": round(result.train_time_s, 3), "metrics": final}
    if result.run_dir:
        Path(result.run_dir, "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if json_:
        typer.echo(json.dumps(summary))
        return
    if result.stopped_epoch and not quiet:
        typer.echo(f"early stopping at epoch {result.stopped_epoch}; best epoch {result.best_epoch}", err=True)
    shown = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if isinstance(v, float))
    typer.echo(f"{result.run_dir}: {result.epochs} epoch(s) in {result.train_time_s:.1f}s; {shown}")
