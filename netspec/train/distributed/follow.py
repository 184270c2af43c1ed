"""What a rank other than 0 does in a distributed run: train its share, then join the collective
passes of rank 0's report. ``train_spec`` runs it for those ranks (``worker.train_rank`` starts them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.record import confusion
from ..loop import RunResult, fit


def follow(session: Any, run_dir: Path, spec_text: str) -> RunResult:
    """A rank other than 0: train its share; then join the collective passes of rank 0's report
    (the confusion matrix over the sharded validation split)."""
    result = fit(session, run_dir, None, spec_text)
    confusion(session)
    return result
