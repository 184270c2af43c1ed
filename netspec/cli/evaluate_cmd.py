"""`netspec evaluate SPEC --checkpoint CKPT [--split test]`: loss and metrics of a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import DeviceOpt, JsonOpt, SetOpt, SpecArg, user_errors


def evaluate(
    spec: SpecArg,
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A checkpoint file or run directory.")],
    split: Annotated[str, typer.Option("--split", help="train, val or test.")] = "val",
    set_: SetOpt = None,
    device: DeviceOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate a checkpoint on a split of the spec's data (preprocessing from the checkpoint)."""
    from ..train.api import evaluate_checkpoint

    if split not in ("train", "val", "test"):
        raise typer.BadParameter("choose train, val or test", param_hint="--split")
    with user_errors(str(spec)):
        metrics = evaluate_checkpoint(spec, checkpoint, set_ or [], split=split, device=device)
    if json_:
        typer.echo(json.dumps({"split": split, "checkpoint": metrics.checkpoint, "notes": metrics.notes, "metrics": metrics}))
        return
    for note in metrics.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"checkpoint: {metrics.checkpoint}")
    for key, value in metrics.items():
        typer.echo(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")
