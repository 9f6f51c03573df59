"""Server-drawn SVG charts: valid XML, the right number of marks, accessible, no inline
style, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from sophrosyne.web.charts import Point, hbars, line, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "style" not in markup
    return root


def _bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"]


def test_stacked_bars_one_group_per_point_and_one_rect_per_nonzero_series() -> None:
    points = [
        Point("11-20", {"succeeded": 2, "failed": 1}),
        Point("11-21", {}),
        Point("11-22", {"failed": 4}),
    ]
    root = _parse(stacked_bars(points, ["succeeded", "failed"], title="Runs <per day>"))
    bars = _bars(root)
    assert len(bars) == 3
    rects = [[r.get("class") for r in g.iter(f"{SVG}rect")] for g in bars]
    assert rects == [["seg s-succeeded", "seg s-failed"], [], ["seg s-failed"]]
    assert root.find(f"{SVG}title").text == "Runs <per day>"  # type: ignore[union-attr]
    # The tallest bar fills the plot; the stack of 3 is three quarters of it.
    heights = [sum(float(r.get("height", 0)) for r in g.iter(f"{SVG}rect")) for g in bars]
    assert heights[2] > heights[0] > 0
    assert round(heights[0] / heights[2], 2) == 0.75


def test_stacked_bars_with_no_points_is_still_an_image() -> None:
    root = _parse(stacked_bars([], ["succeeded"], title="Nothing"))
    assert _bars(root) == []


def test_line_skips_gaps() -> None:
    root = _parse(line([("a", 1.0), ("b", None), ("c", 0.5), ("d", 0.25)], title="Success"))
    dots = list(root.iter(f"{SVG}circle"))
    assert len(dots) == 3
    traces = list(root.iter(f"{SVG}polyline"))
    # "a" stands alone before the gap; c and d make the one line.
    assert len(traces) == 1 and len(traces[0].get("points", "").split()) == 2
    ys = [float(d.get("cy", 0)) for d in dots]
    assert ys[0] < ys[1] < ys[2]  # higher rate, higher on the page


def test_hbars_label_and_escape() -> None:
    root = _parse(hbars([("Disk<Full>", 3), ("Load & more", 1)], title="Top"))
    bars = _bars(root)
    assert len(bars) == 2
    widths = [float(next(g.iter(f"{SVG}rect")).get("width", 0)) for g in bars]
    assert widths[0] == pytest.approx(3 * widths[1], abs=0.02)
    assert bars[0].find(f"{SVG}title").text == "Disk<Full>: 3"  # type: ignore[union-attr]


def test_same_figures_draw_the_same_markup() -> None:
    points = [Point("a", {"succeeded": 1})]
    first = stacked_bars(points, ["succeeded"], title="Runs")
    assert first == stacked_bars(points, ["succeeded"], title="Runs")
    assert 'aria-labelledby="chart-runs-t chart-runs-d"' in first
