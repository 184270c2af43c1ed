"""`netspec predict SPEC --checkpoint CKPT --input FILE --output FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, SetOpt, SpecArg, output_file, user_errors


def predict(
    spec: SpecArg,
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A checkpoint file or run directory.")],
    input_: Annotated[Path, typer.Option(
        "--input", help="A .csv, .parquet, .jsonl, .npz or .npy file, or a folder of images (columns matched by name).")],
    output: Annotated[Path, typer.Option("--output", help="Where to write predictions (.csv or .npz).", callback=output_file)],
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Predict with a trained checkpoint: probabilities and labels (classification) or values."""
    from ..train.predict import predict_file

    with user_errors(str(spec)):
        info = predict_file(spec, checkpoint, input_, output, set_ or [])
    if json_:
        typer.echo(json.dumps(info))
        return
    for note in info["notes"]:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {info['rows']} prediction(s) to {info['output']} ({', '.join(info['columns'][:6])}); "
               f"weights from {info['checkpoint']}")
