"""``sample_checkpoint``, behind `netspec sample`: draw samples from a trained VAE's decoder or GAN's
generator and save them (the drawing and saving helpers are ``netspec.train.samples``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import torch

from ..check import check
from ..compiler import compile_model
from ..errors import NetspecError, TrainError
from .checkpoint import describe, load_checkpoint
from .samples import draw_noise, is_image, save_samples
from .session import located, resolve_plan
from .weights import check_same_models, load_weights


def sample_checkpoint(spec_path: str | Path, checkpoint: str | Path, n: int = 64, output: Optional[str | Path] = None,
                      overrides: Sequence[str] = (), label: Optional[int] = None, seed: int = 0) -> dict:
    """Draw ``n`` samples from a trained VAE's decoder (z ~ N(0, I)) or GAN's generator (its noise;
    labels ``label``, or 0, 1, 2, … cycling for a conditional GAN) and save them (see
    ``save_samples``; default ``samples.png`` for images, else ``samples.npz``)."""
    checked = check(spec_path, list(overrides))
    try:
        return _sample(checked, load_checkpoint(checkpoint), n, output, label, seed)
    except NetspecError as exc:
        raise located(exc, checked) from None


def _sample(checked, ckpt: dict, n: int, output, label: Optional[int], seed: int) -> dict:
    program = checked.spec.train.program if checked.spec.train is not None else None
    if program is None or program.type not in ("vae", "gan"):
        raise TrainError(f"netspec sample draws from a vae's decoder or a gan's generator; this spec's program is "
                         f"{program.type if program else 'supervised'}", path=("train", "program"))
    roles = resolve_plan(checked).roles
    name = program.decoder if program.type == "vae" else program.generator
    model = compile_model(checked.graphs[name])
    check_same_models(checked, ckpt, [name])
    load_weights(model, ckpt, name)
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    labels = None
    if label is not None and (program.type == "vae" or not roles["condition"]):
        raise TrainError("--label applies to a conditional GAN (a generator with a condition input)", path=("--label",))
    if program.type == "vae":
        args = [draw_noise(n, roles["z_shape"], "normal", generator=gen)]
        index = list(model.output_names).index(roles["output"])
    else:
        args_by_name = {roles["noise"]: draw_noise(n, roles["noise_shape"], program.distribution, generator=gen)}
        if roles["condition"]:
            k = roles.get("num_classes") or len((ckpt.get("preprocess") or {}).get("classes") or []) or 1
            if label is not None and not 0 <= label < k:
                raise TrainError(f"label {label} is out of range for {k} classes", path=("--label",))
            labels = torch.full((n,), label) if label is not None else torch.arange(n) % k
            args_by_name[roles["condition"]] = labels
        args = [args_by_name[i] for i in model.input_names]
        index = list(model.output_names).index(roles["g_output"])
    with torch.no_grad():
        out = model(*args)
    x = out[index] if isinstance(out, tuple) else out
    path = Path(output) if output is not None else Path("samples.png" if is_image(tuple(x.shape[1:])) else "samples.npz")
    save_samples(x, path, roles.get("range"), labels)
    return {"output": str(path), "samples": n, "shape": list(x.shape[1:]), "model": name,
            "labels": labels.tolist() if labels is not None else None, "checkpoint": describe(ckpt)}
