"""The run report's charts as SVG text: lines per epoch and a heat map, drawn in milliseconds.

matplotlib drew these as PNGs: importing it and laying out five figures took 1-2 s after every
`netspec train`, longer than many runs train (issue 19's measurements, bench/cli_vs_script.py).
The charts are always the same few kinds, so they are written here directly: axes with "nice"
ticks (1, 2, 5 × 10^k), grid lines, a line and markers per series, a legend; a count matrix as
coloured cells. SVG is vector (crisp at any zoom), a few kB, and is inlined into report.html as is.
`netspec compare` and `netspec tune`'s plots still use matplotlib (their own commands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 36, 48
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    marker: str  # "o" circle, "s" square, "^" triangle
    xs: Sequence[float]
    ys: Sequence[float]


def nice_ticks(low: float, high: float, count: int = 6, integer: bool = False) -> list[float]:
    """About ``count`` round values covering [low, high] (steps of 1, 2 or 5 × 10^k; whole numbers if ``integer``)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def fmt(value: float) -> str:
    """A tick label: short, without float noise (0.1, 2.5e-05, 12)."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    return f"{value:.6g}"


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {FONT}{extra}>'
            f"{escape(text)}</text>")


def _marker(kind: str, x: float, y: float, color: str) -> str:
    if kind == "s":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{color}"/>'
    if kind == "^":
        return f'<polygon points="{x:.1f},{y - 4:.1f} {x - 3.5:.1f},{y + 3:.1f} {x + 3.5:.1f},{y + 3:.1f}" fill="{color}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>'


def line_chart(title: str, xlabel: str, ylabel: str, series: Sequence[Series]) -> str:
    """One chart of ``series`` (x: epochs, whole-number ticks); non-finite values are left out of the line."""
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys) if math.isfinite(x) and math.isfinite(y)]
    xs = [p[0] for p in points] or [0.0, 1.0]
    ys = [p[1] for p in points] or [0.0, 1.0]
    xt = nice_ticks(min(xs), max(xs), 8, integer=True)
    yt = nice_ticks(min(ys), max(ys), 6)
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1.0) * pw

    def py(y: float) -> float:
        return TOP + ph - (y - y0) / ((y1 - y0) or 1.0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'role="img" aria-label={quoteattr(title)}>', f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           _text(WIDTH / 2, 22, title, 14)]
    for t in xt:
        out.append(f'<line x1="{px(t):.1f}" y1="{TOP}" x2="{px(t):.1f}" y2="{TOP + ph}" stroke="#e6e6e6"/>')
        out.append(_text(px(t), TOP + ph + 16, fmt(t), 10))
    for t in yt:
        out.append(f'<line x1="{LEFT}" y1="{py(t):.1f}" x2="{LEFT + pw}" y2="{py(t):.1f}" stroke="#e6e6e6"/>')
        out.append(_text(LEFT - 6, py(t) + 3.5, fmt(t), 10, "end"))
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    out.append(_text(LEFT + pw / 2, HEIGHT - 10, xlabel, 11))
    out.append(_text(16, TOP + ph / 2, ylabel, 11, extra=f' transform="rotate(-90 16 {TOP + ph / 2:.1f})"'))
    for s in series:
        kept = [(px(x), py(y)) for x, y in zip(s.xs, s.ys) if math.isfinite(x) and math.isfinite(y)]
        if len(kept) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in kept)
            out.append(f'<polyline class="series" data-label={quoteattr(s.label)} points="{path}" fill="none" '
                       f'stroke="{s.color}" stroke-width="1.6"/>')
        out.extend(_marker(s.marker, x, y, s.color) for x, y in kept)
    for i, s in enumerate(series):  # the legend, top right inside the axes
        y = TOP + 14 + 16 * i
        out.append(f'<line x1="{LEFT + pw - 86}" y1="{y - 4}" x2="{LEFT + pw - 66}" y2="{y - 4}" stroke="{s.color}" '
                   f'stroke-width="1.6"/>')
        out.append(_marker(s.marker, LEFT + pw - 76, y - 4, s.color))
        out.append(_text(LEFT + pw - 60, y, s.label, 10, "start"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _blue(share: float) -> str:
    """White to dark blue (matplotlib's Blues ends) for a share in [0, 1]."""
    low, high = (247, 251, 255), (8, 48, 107)
    r, g, b = (round(a + (c - a) * share) for a, c in zip(low, high))
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(title: str, matrix: Sequence[Sequence[float]], labels: Sequence[str], xlabel: str = "predicted",
             ylabel: str = "true") -> str:
    """A count matrix as cells shaded by count (rows: ``ylabel``), the count written in each cell up to 30×30."""
    k = len(matrix)
    cell = max(12.0, min(40.0, 480.0 / max(k, 1)))
    left, top = 80.0, 40.0
    size = cell * k
    width, height = left + size + 20, top + size + 56
    highest = max((float(v) for row in matrix for v in row), default=0.0) or 1.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label={quoteattr(title)}>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>', _text(width / 2, 22, title, 14)]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            share = float(value) / highest
            x, y = left + j * cell, top + i * cell
            out.append(f'<rect class="cell" data-row="{i}" data-col="{j}" data-count="{value:g}" x="{x:.1f}" y="{y:.1f}" '
                       f'width="{cell:.1f}" height="{cell:.1f}" fill="{_blue(share)}" stroke="#fff"/>')
            if k <= 30:
                out.append(_text(x + cell / 2, y + cell / 2 + 3.5, f"{value:g}", 9 if cell < 24 else 11,
                                 extra=f' fill="{"white" if share > 0.5 else "black"}"'))
    for i, label in enumerate(labels[:k]):
        out.append(_text(left + i * cell + cell / 2, top + size + 14, label, 9))
        out.append(_text(left - 6, top + i * cell + cell / 2 + 3.5, label, 9, "end"))
    out.append(_text(left + size / 2, top + size + 40, xlabel, 11))
    out.append(_text(16, top + size / 2, ylabel, 11, extra=f' transform="rotate(-90 16 {top + size / 2:.1f})"'))
    out.append("</svg>")
    return "\n".join(out) + "\n"
