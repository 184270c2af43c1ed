"""The plots of a run, as SVG files (``svg.py``: no matplotlib, milliseconds).

One chart per metric with every split that logged it (one colour and marker per split, markers so
a single epoch still shows), the learning rate per epoch, and the confusion matrix of a
classification run. Files go to ``RUN_DIR/plots/`` and are returned in display order; PNGs an
older netspec wrote there are removed, so the folder shows this run's plots only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..paths import write_atomic
from .runlog import RunLog
from .svg import Series, heat_map, line_chart

SPLIT_STYLE = {"train": ("#1f77b4", "o"), "val": ("#d62728", "s"), "test": ("#2ca02c", "^")}
OURS = ("loss", "lr", "confusion_matrix")  # with the metric names: the files this module writes


def save(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return path


def plot_metric(run: RunLog, name: str, path: Path) -> Optional[Path]:
    """``name`` per epoch for every split that logged it (``train.loss`` and ``val.loss``, ...)."""
    series = []
    for split, (color, marker) in SPLIT_STYLE.items():
        epochs, values = run.series(f"{split}.{name}")
        if epochs:
            series.append(Series(split, color, marker, epochs, values))
    if not series:
        return None
    return save(line_chart(f"{name} per epoch", "epoch", name, series), path)


def plot_lr(run: RunLog, path: Path) -> Optional[Path]:
    epochs, values = run.series("lr")
    if not epochs:
        return None
    return save(line_chart("learning rate (end of each epoch)", "epoch", "lr",
                           [Series("lr", "#9467bd", "o", epochs, values)]), path)


def plot_confusion(confusion: dict[str, Any], path: Path) -> Optional[Path]:
    """Counts as a heat map with the count in each cell; rows are true classes."""
    matrix = confusion.get("matrix") or []
    if not matrix or not all(isinstance(row, list) and len(row) == len(matrix) for row in matrix):
        return None
    labels = [str(x) for x in (confusion.get("labels") or range(len(matrix)))]
    return save(heat_map(f"confusion matrix ({confusion.get('split', 'val')} split)", matrix, labels), path)


def write_plots(run: RunLog) -> list[Path]:
    """Every plot of the run, written to RUN_DIR/plots/; our older PNGs there are removed."""
    out = run.path / "plots"
    names = run.metric_names()
    paths = [plot_metric(run, name, out / f"{safe(name)}.svg") for name in names]
    paths.append(plot_lr(run, out / "lr.svg"))
    if run.confusion:
        paths.append(plot_confusion(run.confusion, out / "confusion_matrix.svg"))
    for stem in {*map(safe, names), *OURS}:
        (out / f"{stem}.png").unlink(missing_ok=True)
    return [p for p in paths if p is not None]


def safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
