"""Sharded checkpoints of FSDP runs (torch.distributed.checkpoint), loadable anywhere.

An FSDP run's ``last.pt`` / ``best.pt`` is the usual netspec checkpoint (spec text, epoch, RNG,
preprocessing, metrics, tracker...) without the weights, plus ``sharded: FOLDER``: the model and
optimizer tensors are in ``FOLDER`` (next to the file), written by every rank at once with
``torch.distributed.checkpoint``; the optimizer's non-tensor state (param groups: lr, betas...)
stays in the file. Folders are named by epoch (``last.e0007.dcp``) and the file is written after
its folder is complete, so a crash never leaves a file pointing at half a folder.

Reading them back (any number of processes, no process group) is ``netspec.checkpoint.sharded``;
resharding to another world size happens when the full state is loaded into a sharded model
(``wrap.load_model_state``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from ...checkpoint import save_checkpoint


def save_sharded(session: Any, ckpt: dict, path: Path) -> None:
    """Every rank writes its shards; rank 0 then writes the checkpoint file (atomically)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    ctx = session.dist
    folder = path.parent / f"{path.stem}.e{int(ckpt['epoch']):04d}.dcp"
    models, tensors, extras = {}, {}, {}
    for name, model in session.models.items():
        models[name] = get_model_state_dict(model)
        osd = get_optimizer_state_dict(model, session.updater.slots[name].optimizer)
        tensors[name] = {p: {k: v for k, v in s.items() if isinstance(v, torch.Tensor)} for p, s in osd["state"].items()}
        extras[name] = {"param_groups": osd["param_groups"],
                        "state": {p: {k: v for k, v in s.items() if not isinstance(v, torch.Tensor)}
                                  for p, s in osd["state"].items()}}
    dcp.save({"models": models, "optimizers": tensors}, checkpoint_id=str(folder))
    ctx.barrier()
    if ctx.is_main:
        header = {k: v for k, v in ckpt.items() if k not in ("models", "optimizers")}
        save_checkpoint({**header, "sharded": folder.name, "sharded_optimizers": extras}, path)
        for old in path.parent.glob(f"{path.stem}.e*.dcp"):
            if old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)
    ctx.barrier()
