"""`netspec sample SPEC --checkpoint CKPT [-n N] [-o FILE]`: draw from a trained VAE or GAN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..strict import MAX_SEED
from .common import JsonOpt, SetOpt, SpecArg, output_file, user_errors


def sample(
    spec: SpecArg,
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A checkpoint file or run directory.")],
    num: Annotated[int, typer.Option("-n", "--num", min=1, max=1_000_000, help="How many samples.")] = 64,
    output: Annotated[Optional[Path], typer.Option(
        "-o", "--output", help="A .png grid (image samples), .npy or .npz file (default samples.png or samples.npz).",
        callback=output_file)] = None,
    label: Annotated[Optional[int], typer.Option(
        "--label", min=0, help="Conditional GAN: the class of every sample (default: 0, 1, 2, ... in turn).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seed of the noise.")] = 0,
    set_: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sample a trained VAE (decoder, z ~ N(0, I)) or GAN (generator) and save the samples."""
    from ..train.sampling import sample_checkpoint

    with user_errors(str(spec)):
        info = sample_checkpoint(spec, checkpoint, num, output, set_ or [], label, seed)
    if json_:
        typer.echo(json.dumps(info))
    else:
        shape = "×".join(str(d) for d in info["shape"])
        typer.echo(f"wrote {info['samples']} sample(s) of shape {shape} from {info['model']} to {info['output']} "
                   f"(weights from {info['checkpoint']})")
