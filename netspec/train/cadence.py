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

#: under ``auto``, the time between writes is at least this many times what the last write took
SHARE = 20


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

    def keep_best(self, ckpt: dict[str, Any]) -> None:
        """The improved epoch's checkpoint, copied (its tensors change with the next step)."""
        self.pending_best = copy.deepcopy(ckpt)

    def timed(self, started: float) -> None:
        """Record a write that began at ``started`` (perf_counter) and ended now."""
        self.last_write_end = time.perf_counter()
        self.write_s = self.last_write_end - started
