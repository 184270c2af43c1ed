"""PNG plots of a run with matplotlib's Agg canvas (no display, no pyplot global state).

One figure per metric with every split that logged it (one colour and marker per split,
markers so a single epoch still shows), the learning rate per epoch, and the confusion matrix of
a classification run. Files go to ``RUN_DIR/plots/`` and are returned in display order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .runlog import RunLog

SPLIT_STYLE = {"train": ("#1f77b4", "o"), "val": ("#d62728", "s"), "test": ("#2ca02c", "^")}
DPI = 100


def figure(width: float = 6.4, height: float = 4.0):
    """A standalone Figure drawn by the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def plot_metric(run: RunLog, name: str, path: Path) -> Optional[Path]:
    """``name`` per epoch for every split that logged it (``train.loss`` and ``val.loss``, ...)."""
    fig = figure()
    ax = fig.add_subplot()
    drawn = 0
    for split, (color, marker) in SPLIT_STYLE.items():
        epochs, values = run.series(f"{split}.{name}")
        if epochs:
            ax.plot(epochs, values, color=color, marker=marker, markersize=4, linewidth=1.6, label=split)
            drawn += 1
    if not drawn:
        return None
    ax.set_title(f"{name} per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.grid(True, alpha=0.3)
    ax.legend()
    integer_epochs(ax)
    return save(fig, path)


def plot_lr(run: RunLog, path: Path) -> Optional[Path]:
    epochs, values = run.series("lr")
    if not epochs:
        return None
    fig = figure()
    ax = fig.add_subplot()
    ax.plot(epochs, values, color="#9467bd", marker="o", markersize=4)
    ax.set_title("learning rate (end of each epoch)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("lr")
    ax.grid(True, alpha=0.3)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    integer_epochs(ax)
    return save(fig, path)


def plot_confusion(confusion: dict[str, Any], path: Path) -> Optional[Path]:
    """Counts as a heat map with the count in each cell; rows are true classes."""
    import numpy as np

    matrix = np.asarray(confusion.get("matrix") or [], dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        return None
    k = matrix.shape[0]
    labels = [str(x) for x in (confusion.get("labels") or range(k))]
    side = min(max(4.0, 0.45 * k + 2.0), 14.0)
    fig = figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), labels=labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(k), labels=labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({confusion.get('split', 'val')} split)")
    if k <= 30:
        top = matrix.max() or 1.0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if matrix[i, j] > top / 2 else "black")
    return save(fig, path)


def integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def write_plots(run: RunLog) -> list[Path]:
    """Every plot of the run, written to RUN_DIR/plots/; stale PNGs of ours are replaced."""
    out = run.path / "plots"
    paths = [plot_metric(run, name, out / f"{safe(name)}.png") for name in run.metric_names()]
    paths.append(plot_lr(run, out / "lr.png"))
    if run.confusion:
        paths.append(plot_confusion(run.confusion, out / "confusion_matrix.png"))
    return [p for p in paths if p is not None]


def safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
