"""When a run writes its checkpoints: ``train.checkpoint.every`` (an epoch count, or ``auto``).

A checkpoint is written atomically, checksummed, read back and fsynced (checkpoint/file.py): tens of
milliseconds for a small model, which is a tenth of a fast epoch. ``auto`` writes after an epoch
once the time since the last write is at least ``SHARE`` times what that write took, so writing
costs at most about 1/SHARE of the training time, and always after the first and the last epoch
(and when stopped early or by a signal). A kill -9 then loses at most that much work, and the
resumed run redoes it (bit for bit with ``train.deterministic``). Distributed runs write every epoch
under ``auto``: a decision by each rank's own clock could differ between ranks, and FSDP's sharded
save is a collective every rank must enter together.

best.pt is written at the same moments, just before last.pt: the best epoch's checkpoint is kept
in memory from the epoch it improved until then.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Optional

import torch

#: under ``auto``, the time between writes is at least this many times what the last write took
SHARE = 50


class Cadence:
    """Decides, after each epoch, whether last.pt (and a pending best.pt) are written now."""

    def __init__(self, every: int | str, distributed: bool) -> None:
        self.every = 1 if every == "auto" and distributed else every
        self.last_write_end: Optional[float] = None
        self.write_s = 0.0
        self.pending_best: Optional[dict[str, Any]] = None

    def due(self, epoch: int, last_epoch: bool) -> bool:
        if last_epoch or self.last_write_end is None:
            return True
        if self.every == "auto":
            return time.perf_counter() - self.last_write_end >= SHARE * self.write_s
        return epoch % int(self.every) == 0

    def keep_best(self, ckpt: dict[str, Any], models: Optional[dict[str, Any]] = None) -> None:
        """The improved epoch's checkpoint, copied (its tensors change with the next step); ``models``:
        a copy of its model states already made (the loop's best weights), used as is."""
        rest = {k: v for k, v in ckpt.items() if k != "models"}
        self.pending_best = {**snapshot(rest), "models": models if models is not None else snapshot(ckpt["models"])}

    def timed(self, started: float) -> None:
        """Record a write that began at ``started`` (perf_counter) and ended now."""
        self.last_write_end = time.perf_counter()
        self.write_s = self.last_write_end - started


def snapshot(value: Any) -> Any:
    """``value`` with every tensor cloned and its dicts and lists copied (copy.deepcopy, without its
    memo and per-object dispatch: this runs at every improving epoch)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*(snapshot(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    return copy.deepcopy(value)  # anything else a state dict holds: copied the slow, general way
