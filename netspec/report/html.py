"""report.html: one self-contained page (no server, no external files, plots as base64 data URIs).

Sections: final metrics, timing, plots, the model summary table, the resolved spec, environment.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Iterable

from .runlog import RunLog

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#fafafa}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}.plots img{max-width:520px;border:1px solid #eee}
pre{background:#f6f8fa;padding:1rem;overflow:auto;font-size:.85rem}.muted{color:#777}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(header: Iterable[str], rows: Iterable[Iterable[Any]], numeric: Iterable[int] = ()) -> str:
    num = set(numeric)
    head = "".join(f'<th{" class=num" if i in num else ""}>{esc(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in num else ""}>{esc(fmt(c))}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def img(path: Path) -> str:
    """A plot file (.svg or .png) embedded as a data URI: the page references no other file."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    title = path.stem.replace("_", " ")
    kind = "svg+xml" if path.suffix == ".svg" else "png"
    return (f'<figure><img alt="{esc(title)}" src="data:image/{kind};base64,{data}"><figcaption class=muted>'
            f'{esc(title)}</figcaption></figure>')


def metrics_section(run: RunLog) -> str:
    """The reported weights' metrics: train/val of the reported epoch, test (held out) once at the end."""
    metrics = run.result().get("metrics") or {}
    rows = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not rows:
        return "<p class=muted>no metrics recorded</p>"
    return table(("metric", "value"), rows, numeric=(1,))


def timing_section(run: RunLog) -> str:
    res = run.result()
    times = [float(r["epoch_time_s"]) for r in run.rows if "epoch_time_s" in r]
    speed = [float(r["samples_per_s"]) for r in run.rows if "samples_per_s" in r]
    rows = [("epochs completed", res.get("epochs")), ("best epoch", res.get("best_epoch") or "–"),
            ("stopped early at", res.get("stopped_epoch") or "–"), ("training time (s)", float(res.get("train_time_s") or 0.0))]
    if res.get("checkpoint"):  # which weights the final metrics (and a command given this run directory) are of
        which = "best" if res.get("restored_best") else "last"
        rows.insert(0, ("reported weights", f"{which} epoch {res.get('reported_epoch')} ({res['checkpoint']})"))
    if times:
        rows.append(("mean epoch time (s)", sum(times) / len(times)))
    if speed:
        rows.append(("mean samples / s", sum(speed) / len(speed)))
    return table(("", ""), rows, numeric=(1,))


def summary_section(run: RunLog) -> str:
    summary = run.info.get("summary")
    if not summary:
        return "<p class=muted>no model summary recorded</p>"
    parts = []
    models = summary.get("models") or {"model": summary}
    for name, s in models.items():
        rows = [(n["name"], n["type"], ", ".join(n["inputs"]), shape_text(n["output_shape"]), n["params"], n["flops"])
                for n in s["nodes"]]
        rows.append(("total", "", "", "", s["params"], s["flops"]))
        title = f"<h3>{esc(name)}</h3>" if len(models) > 1 else ""
        parts.append(title + table(("node", "type", "inputs", "output shape", "params", "FLOPs"), rows, numeric=(4, 5)))
    return "".join(parts)


def shape_text(shape: list) -> str:
    if shape and isinstance(shape[0], list):
        return " ".join(shape_text(s) for s in shape)
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def environment_section(run: RunLog) -> str:
    env = run.info.get("environment") or {}
    if not env:
        return "<p class=muted>no environment recorded</p>"
    return table(("", ""), sorted(env.items()))


def render_html(run: RunLog, plots: list[Path]) -> str:
    name = run.info.get("name") or run.name
    sections = [
        ("Final metrics", metrics_section(run)),
        ("Timing", timing_section(run)),
        ("Plots", '<div class="plots">' + "".join(img(p) for p in plots) + "</div>" if plots else "<p class=muted>no plots</p>"),
        ("Model summary", summary_section(run)),
        ("Spec (resolved)", f"<pre>{esc(run.spec_text)}</pre>" if run.spec_text else "<p class=muted>no spec.yaml</p>"),
        ("Environment", environment_section(run)),
    ]
    body = "".join(f'<h2 id="{esc(t.lower().split()[0])}">{esc(t)}</h2>{content}' for t, content in sections)
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>netspec run {esc(name)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(name)}</h1><p class=muted>run directory {esc(run.path)}</p>"
            f"{body}</body></html>\n")


def write_html(run: RunLog, plots: list[Path], path: Path | None = None) -> Path:
    path = path or run.path / "report.html"
    path.write_text(render_html(run, plots), encoding="utf-8")
    return path
