"""Experiment trackers behind ``train.log``: TensorBoard event files and MLflow runs.

A tracker receives the loop's progress like the CLI's reporter (``start``, ``batch``, ``epoch``),
then ``finish(result, run_dir)`` once the run's artefacts are written, and ``close(failed=)``
always. ``open_trackers(session, run_dir)`` builds the ones the spec enables; a missing optional
package is a TrainError located at ``train.log.<tracker>`` that names the extra to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..distribution import install_hint
from ..errors import TrainError


def scalar_items(row: dict[str, Any]) -> list[tuple[str, float]]:
    """The numbers of a metrics row (``epoch`` and lists such as a confusion matrix left out)."""
    return [(k, float(v)) for k, v in row.items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)]


def missing(package: str, extra: str, key: str) -> TrainError:
    return TrainError(f"train.log.{key} needs the {package!r} package, which is not installed", path=("train", "log", key),
                      hint=f"{install_hint(extra)}, or set {key}: false")


def open_trackers(session, run_dir: Path) -> list:
    log = session.train.log
    trackers: list = []
    try:
        tb = log.tensorboard_options()
        if tb is not None:
            from .tensorboard import TensorBoardTracker

            trackers.append(TensorBoardTracker(session, Path(run_dir) / "tensorboard", tb))
        ml = log.mlflow_options()
        if ml is not None:
            from .mlflow import MlflowTracker

            trackers.append(MlflowTracker(session, Path(run_dir), ml))
    except BaseException:
        for t in trackers:
            t.close(failed=True)
        raise
    return trackers
