"""The run report's SVG charts (netspec/report/svg.py) draw the data they are given: every point where
its value puts it, ticks that cover the data, the matrix's counts in its cells, text escaped."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from netspec.report.svg import Series, heat_map, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


def points(svg: str, label: str) -> list[tuple[float, float]]:
    root = ET.fromstring(svg)
    line = next(e for e in root.iter(f"{NS}polyline") if e.get("data-label") == label)
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def test_every_point_is_where_its_value_puts_it():
    xs, train, val = [1, 2, 3, 4, 5], [2.0, 0.9, 0.5, 0.31, 0.2], [1.5, 1.0, 0.8, 0.85, 0.9]
    svg = line_chart("loss per epoch", "epoch", "loss", [Series("train", "#1f77b4", "o", xs, train),
                                                         Series("val", "#d62728", "s", xs, val)])
    a, b = points(svg, "train"), points(svg, "val")
    assert len(a) == len(b) == 5
    assert [p[0] for p in a] == sorted(p[0] for p in a) and [p[0] for p in a] == [p[0] for p in b]
    # one linear map from value to pixel for both series (y grows downwards in SVG)
    ys = [p[1] for p in a + b]
    values = train + val
    slope = (ys[0] - ys[1]) / (values[0] - values[1])
    assert slope < 0
    for y, v in zip(ys, values):
        assert y == pytest.approx(ys[0] + slope * (v - values[0]), abs=0.11)


def test_ticks_cover_the_data_with_round_steps():
    for low, high in [(0.0012, 0.0987), (3, 250), (-1.5, 2.2), (0.97, 0.98), (5, 5)]:
        ticks = nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high and 2 <= len(ticks) <= 12
        steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1
        step = steps.pop()
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert round(mantissa, 6) in (1, 2, 5, 10)
    assert all(t == int(t) for t in nice_ticks(1, 7, integer=True))


def test_non_finite_values_are_left_out_and_a_single_epoch_still_shows():
    svg = line_chart("x", "epoch", "loss", [Series("train", "#000", "o", [1, 2, 3], [1.0, float("nan"), 0.5])])
    assert len(points(svg, "train")) == 2
    one = ET.fromstring(line_chart("x", "epoch", "loss", [Series("val", "#000", "s", [1], [0.3])]))
    assert len([e for e in one.iter(f"{NS}rect") if e.get("width") == "6"]) == 2  # the marker and the legend's


def test_heat_map_cells_hold_the_counts_and_names_are_escaped():
    matrix = [[5, 1, 0], [0, 7, 2], [1, 0, 9]]
    svg = heat_map("confusion <val> & more", matrix, ["a<b", "c&d", "e"])
    root = ET.fromstring(svg)  # parses: '<', '&' in names and titles are escaped
    cells = {(int(e.get("data-row")), int(e.get("data-col"))): float(e.get("data-count"))
             for e in root.iter(f"{NS}rect") if e.get("class") == "cell"}
    assert cells == {(i, j): matrix[i][j] for i in range(3) for j in range(3)}
    texts = [e.text for e in root.iter(f"{NS}text")]
    assert "a<b" in texts and "confusion <val> & more" in texts and texts.count("9") == 1
    fills = {(int(e.get("data-row")), int(e.get("data-col"))): e.get("fill") for e in root.iter(f"{NS}rect")
             if e.get("class") == "cell"}
    assert fills[(2, 2)] < fills[(0, 0)] < fills[(0, 2)]  # darker (smaller hex) for larger counts
