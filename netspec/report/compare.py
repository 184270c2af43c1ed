"""Several runs on shared axes: one PNG per metric (and the learning rate) with a line per run,
plus compare.html with the plots and a table of each run's final metrics.

Colour is the run, line style the split (train solid, val dashed, test dotted).
"""

from __future__ import annotations

from pathlib import Path

from .figures import figure, integer_epochs, save
from .html import CSS, esc, img, table
from .plots import safe
from .runlog import RunLog, read_run

SPLIT_LINES = {"train": "-", "val": "--", "test": ":"}


def plot_runs(runs: list[RunLog], key_name: str, path: Path) -> Path | None:
    """``key_name`` is a metric name (every split of it) or ``lr``."""
    fig = figure(7.2, 4.4)
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(runs))]
    drawn = 0
    for run, color in zip(runs, colors):
        keys = [("", "lr")] if key_name == "lr" else [(s, f"{s}.{key_name}") for s in SPLIT_LINES]
        for split, key in keys:
            epochs, values = run.series(key)
            if epochs:
                label = run.name + (f" ({split})" if split else "")
                ax.plot(epochs, values, color=color, linestyle=SPLIT_LINES.get(split, "-"), marker="o", markersize=3, label=label)
                drawn += 1
    if not drawn:
        return None
    ax.set_title(f"{key_name} per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key_name)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    integer_epochs(ax)
    return save(fig, path)


def compare_runs(run_dirs: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<metric>.png`` for every metric any run logged, ``lr.png`` and compare.html;
    returns the files written."""
    runs = [read_run(d) for d in run_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.metric_names()))
    plots = [plot_runs(runs, name, out / f"{safe(name)}.png") for name in [*names, "lr"]]
    plots = [p for p in plots if p is not None]
    page = out / "compare.html"
    page.write_text(render_compare(runs, plots), encoding="utf-8")
    return plots + [page]


def render_compare(runs: list[RunLog], plots: list[Path]) -> str:
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(k for k, v in (run.result().get("metrics") or {}).items() if isinstance(v, (int, float))))
    rows = []
    for run in runs:
        res = run.result()
        metrics = res.get("metrics") or {}
        rows.append([run.name, res.get("epochs"), float(res.get("train_time_s") or 0.0), *(metrics.get(k, "–") for k in keys)])
    head = ["run", "epochs", "train time (s)", *keys]
    body = table(head, rows, numeric=range(1, len(head)))
    figs = "".join(img(p) for p in plots)
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>netspec compare</title><style>{CSS}</style>"
            f"</head><body><h1>Comparing {len(runs)} runs</h1><ul>{''.join(f'<li>{esc(r.path)}</li>' for r in runs)}</ul>"
            f"<h2>Final metrics</h2>{body}<h2>Plots</h2><div class=plots>{figs}</div></body></html>\n")
