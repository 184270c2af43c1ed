"""matplotlib figures on the Agg canvas (no display, no pyplot global state), for `netspec compare`.

The run report's own charts are SVG written by ``svg.py``; this is the general plotting the
commands that draw arbitrary runs side by side use.
"""

from __future__ import annotations

from pathlib import Path

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


def integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
