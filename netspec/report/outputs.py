"""The hook ``train_spec`` wraps around ``fit``: experiment trackers during the run, then the run's
artefacts for people (confusion matrix, run_info.json, plots, report.html), then the trackers'
end-of-run uploads::

    with RunOutputs(session, run_dir, reporter) as outputs:
        result = fit(session, run_dir, outputs.reporter, spec_text)
        outputs.finish(result)

``outputs.reporter`` forwards the loop's progress calls to the CLI's reporter and to every tracker
(TensorBoard, MLflow) that ``train.log`` enables.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

from ..paths import write_atomic
from .runlog import CONFUSION_FILE, INFO_FILE


class Tee:
    """One reporter that forwards ``start``/``batch``/``epoch`` to several."""

    def __init__(self, *targets: Any) -> None:
        self.targets = [t for t in targets if t is not None]

    def start(self, total_epochs: int, batches_per_epoch: int, first_epoch: int) -> None:
        for t in self.targets:
            t.start(total_epochs, batches_per_epoch, first_epoch)

    def batch(self, epoch: int, index: int, samples: int) -> None:
        for t in self.targets:
            t.batch(epoch, index, samples)

    def epoch(self, row: dict) -> None:
        for t in self.targets:
            t.epoch(row)


class RunOutputs:
    def __init__(self, session, run_dir: Path, reporter: Any = None) -> None:
        from ..track import open_trackers

        self.session, self.run_dir, self.started = session, Path(run_dir), time.time()
        self.trackers = open_trackers(session, self.run_dir)
        self.reporter: Optional[Any] = Tee(reporter, *self.trackers) if self.trackers else reporter
        self.finished = False

    def __enter__(self) -> "RunOutputs":
        return self

    def finish(self, result) -> None:
        write_artifacts(self.session, result, self.run_dir, self.started)
        for t in self.trackers:
            t.finish(result, self.run_dir)
        self.finished = True

    def __exit__(self, *exc: Any) -> None:
        for t in self.trackers:
            t.close(failed=not self.finished)


def write_artifacts(session, result, run_dir: Path, started: float) -> Path:
    """confusion_matrix.json (classification), run_info.json, plots/*.svg and report.html."""
    from . import write_report
    from .record import confusion, run_info

    cm = confusion(session)
    path = run_dir / CONFUSION_FILE
    if cm is not None:
        write_atomic(path, json.dumps(cm) + "\n")
    else:
        path.unlink(missing_ok=True)
    write_atomic(run_dir / INFO_FILE, json.dumps(run_info(session, result, started), indent=1, default=str) + "\n")
    return write_report(run_dir)
