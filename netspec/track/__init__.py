"""Experiment trackers behind ``train.log``: TensorBoard event files and MLflow runs.

A tracker receives the loop's progress like the CLI's reporter (``start``, ``batch``, ``epoch``),
then ``finish(result, run_dir)`` once the run's artefacts are written, and ``close(failed=)``
always. ``open_trackers(session, run_dir)`` builds the ones the spec enables; a missing optional
package is a TrainError located at ``train.log.<tracker>`` that names the extra to install.
"""

from __future__ import annotations

from pathlib import Path

from .base import missing, scalar_items

__all__ = ["missing", "open_trackers", "scalar_items"]


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
