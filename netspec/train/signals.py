"""Ctrl-C and SIGTERM: finish the step, save a checkpoint, leave with 130 / 143; a second signal
leaves at once.

``graceful_stop()`` (the CLI's `train` wraps the run in it; library callers may too) replaces the
SIGINT and SIGTERM handlers while it is active. The first signal only sets ``STOP``; the loop looks
at it between batches, where every optimizer has stepped (no gradient accumulation half done), and
there ``interrupt(...)`` writes ``last.pt`` with the run's *position* — the batches of the current
epoch already done, the partial loss sum, the data-order generator's state at the start of the
epoch and every RNG state at the stop — then raises ``Interrupted`` (exit code 128 + signal).
``--resume`` replays the epoch's order, skips the batches done and restores the RNG states, so the
resumed run computes exactly what the uninterrupted one would have (bit for bit on CPU). Epoch rows
(metrics.jsonl) are written and closed at each epoch's end, so nothing is left unflushed.

A second signal while the first is being handled raises KeyboardInterrupt (SIGINT, exit 130) or
SystemExit(143) (SIGTERM) from the handler, i.e. at the next Python instruction: a checkpoint half
written is discarded (atomic writes), the previous one stays.

Not covered: train-split metrics of an epoch stopped mid-way count only the batches after the
resume (train_metrics: true), and distributed runs, whose ranks must agree on the step to stop at,
stop at the launcher's signal without a position checkpoint (resume from the last epoch's).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch

from ..errors import Interrupted
from .runtime import set_rng_state

NAMES = {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}


class StopRequest:
    """The first signal received while ``graceful_stop`` is active (None: keep going)."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None

    @property
    def requested(self) -> bool:
        return self.signum is not None


STOP = StopRequest()


@contextmanager
def graceful_stop(signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
    """Handle SIGINT/SIGTERM as described above while the block runs (main thread only; elsewhere
    the handlers cannot be set and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return

    def handler(signum: int, frame: Any) -> None:
        if STOP.signum is not None:  # the second one: leave now
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        STOP.signum = signum

    previous = {s: signal.signal(s, handler) for s in signums}
    STOP.signum = None
    try:
        yield STOP
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        STOP.signum = None


def stop_requested(session: Any) -> bool:
    """Whether to stop at this batch boundary: a signal came and no optimizer holds half an
    accumulation (those gradients are not saved)."""
    if not STOP.requested or getattr(session, "dist", None) is not None:
        return False
    return all(slot.micro == 0 for slot in session.updater.slots.values())


def interrupt(session: Any, ckpt: dict, save: Callable[[Any, dict, Path], None], run_dir: Optional[Path],
              epoch: int, done: int, total: torch.Tensor, n: int, epoch_data_rng: torch.Tensor) -> Interrupted:
    """Save ``ckpt`` (the loop's checkpoint of the current state) with the run's position in the
    epoch, and return the Interrupted error to raise."""
    signum = STOP.signum or signal.SIGINT
    batches = len(session.data.loaders["train"])
    ckpt["position"] = {"epoch": epoch, "batches": done, "total": total.detach().cpu(), "n": n, "rng": ckpt["rng"]}
    ckpt["rng"] = {**ckpt["rng"], "data": epoch_data_rng}  # the epoch's order is drawn again on resume
    where = f"epoch {epoch} after {done} of {batches} batches"
    if run_dir is None:
        return Interrupted(f"stopped by {NAMES.get(signum, signum)} at {where}; no run directory, nothing saved",
                           signum=signum)
    save(session, ckpt, run_dir / "last.pt")
    return Interrupted(f"stopped by {NAMES.get(signum, signum)} at {where}; checkpoint saved to {run_dir / 'last.pt'}",
                       signum=signum, hint=f"continue with `netspec train SPEC --resume {run_dir}`")


class Position:
    """Where a resumed run re-enters an epoch that a signal interrupted."""

    def __init__(self, saved: dict, device: torch.device) -> None:
        self.batches = saved["batches"]
        self.rng = saved["rng"]
        self.total = saved["total"].to(device)
        self.n = saved["n"]

    def skip(self, index: int, gen: torch.Generator) -> bool:
        """True for the batches done before the stop; at the first one after them, every RNG
        state is put back as it was at the stop."""
        if index < self.batches:
            return True
        if index == self.batches:
            set_rng_state(self.rng, gen)
        return False


def resume_position(session: Any, epoch: int) -> Optional[Position]:
    """The position to re-enter ``epoch`` at, once (None for a run resumed at an epoch boundary)."""
    saved = (session.resumed_from or {}).get("position")
    if not saved or saved.get("epoch") != epoch or getattr(session, "_position_used", False):
        return None
    session._position_used = True
    return Position(saved, session.device)


__all__ = ["STOP", "Position", "graceful_stop", "interrupt", "resume_position", "stop_requested"]
