"""Reading an FSDP run's checkpoint: its tensors are in a torch.distributed.checkpoint folder beside
the file (written by ``netspec.train.distributed.sharded``).

``fill_sharded(ckpt, path)`` reads the folder in one process into ordinary full state dicts
(``models``, ``optimizers`` in torch's own format), so evaluate, predict, export and resuming on
any number of processes work on FSDP checkpoints unchanged. The folder's ``.metadata`` is a
pickle (torch.distributed.checkpoint's format): load sharded checkpoints you trust, as with any
checkpoint folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from ..errors import TrainError


def fill_sharded(ckpt: dict, path: Path) -> dict:
    """Read the checkpoint's shard folder into full ``models`` and ``optimizers`` (one process)."""
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    folder = Path(path).parent / ckpt["sharded"]
    if not (folder / ".metadata").is_file():
        raise TrainError(f"{path} keeps its weights in {folder}, which is missing or incomplete",
                         hint="copy the checkpoint file together with its .dcp folder")
    with tempfile.TemporaryDirectory() as tmp:
        flat = Path(tmp) / "full.pt"
        dcp_to_torch_save(folder, flat)
        full = torch.load(flat, map_location="cpu", weights_only=True)
    ckpt["models"] = full["models"]
    ckpt["optimizers"] = {name: _numbered(full["optimizers"].get(name, {}), extra)
                          for name, extra in (ckpt.get("sharded_optimizers") or {}).items()}
    return ckpt


def _numbered(tensors: dict, extra: dict) -> dict:
    """Optimizer state keyed by parameter name -> torch's format (parameters numbered in group order)."""
    groups, state, i = [], {}, 0
    for group in extra["param_groups"]:
        ids = []
        for name in group["params"]:
            merged = {**extra["state"].get(name, {}), **tensors.get(name, {})}
            if merged:
                state[i] = merged
            ids.append(i)
            i += 1
        groups.append({**group, "params": ids})
    return {"state": state, "param_groups": groups}
