"""Charts as inline SVG, drawn on the server, pure: stacked bars (runs over time by state),
plain bars (MTTR per bucket), a line (success rate), and horizontal bars (top alerts).

No style attributes and no ``<style>`` (the pages' CSP forbids inline style): colours come
from classes that ``app.css`` styles (``.chart .s-<series>``). Each chart is an ``img`` with a
``<title>`` and ``<desc>``, each mark has a ``<title>`` (a tooltip and what a screen reader
says), and the page puts a table with the same figures beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
#: Room for the axis labels: left, right, top, bottom.
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 8, 10, 26


@dataclass(frozen=True)
class Point:
    label: str
    values: Mapping[str, float]


def _num(value: float) -> str:
    """A coordinate: short, and the same every time."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _plain(value: float) -> str:
    return f"{value:g}"


def _class(name: str) -> str:
    """A series name as a CSS class suffix (letters, digits, - and _ only)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _svg(parts: list[str]) -> Markup:
    # Safe: every text drawn is passed through ``escape`` and every number through ``_num``
    # (or is an int) before it joins ``parts``.
    return Markup("".join(parts))  # noqa: S704


def _open(title: str, description: str, kind: str, height: int = HEIGHT) -> tuple[str, str]:
    # Ids from the title: unique on a page (each chart has its own), the same on every draw.
    n = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d">'
        f'<title id="chart-{n}-t">{escape(title)}</title>'
        f'<desc id="chart-{n}-d">{escape(description)}</desc>'
    )
    return head, "</svg>"


def _axes(top_value: str, first: str, last: str, height: int = HEIGHT) -> str:
    base = height - _BOTTOM
    return (
        f'<line class="axis" x1="{_LEFT}" y1="{base}" x2="{WIDTH - _RIGHT}" y2="{base}"/>'
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{base}"/>'
        f'<text class="tick" x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end">'
        f"{escape(top_value)}</text>"
        f'<text class="tick" x="{_LEFT - 4}" y="{base}" text-anchor="end">0</text>'
        f'<text class="tick" x="{_LEFT}" y="{height - 8}">{escape(first)}</text>'
        f'<text class="tick" x="{WIDTH - _RIGHT}" y="{height - 8}" text-anchor="end">'
        f"{escape(last)}</text>"
    )


def stacked_bars(
    points: Sequence[Point],
    series: Sequence[str],
    *,
    title: str,
    unit: str = "",
    fmt: Callable[[float], str] = _plain,
) -> Markup:
    """One bar per point, its ``series`` stacked in order; a ``<g class="bar">`` each."""
    totals = [sum(p.values.get(s, 0) for s in series) for p in points]
    peak = max(totals, default=0) or 1
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.8, 1)
    head, tail = _open(
        title,
        f"{len(points)} bars; highest {fmt(max(totals, default=0))}{unit}.",
        "bars",
    )
    parts = [head]
    if points:
        parts.append(_axes(fmt(peak) + unit, points[0].label, points[-1].label))
    base = HEIGHT - _BOTTOM
    for i, (p, total) in enumerate(zip(points, totals, strict=True)):
        x = _LEFT + i * slot + (slot - bar_w) / 2
        parts.append(f'<g class="bar"><title>{escape(p.label)}: {escape(fmt(total))}{unit}</title>')
        y = float(base)
        for s in series:
            value = p.values.get(s, 0)
            if not value:
                continue
            h = value / peak * plot_h
            y -= h
            parts.append(
                f'<rect class="seg s-{_class(s)}" x="{_num(x)}" y="{_num(y)}" '
                f'width="{_num(bar_w)}" height="{_num(h)}">'
                f"<title>{escape(p.label)} {escape(s)}: {escape(fmt(value))}{unit}</title></rect>"
            )
        parts.append("</g>")
    parts.append(tail)
    return _svg(parts)


def line(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    top: float = 1.0,
    fmt: Callable[[float], str] = _plain,
) -> Markup:
    """A line through the points that have a value (gaps where they have none), with a dot
    (``<circle class="dot">``) at each."""
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(points), 1)
    base = HEIGHT - _BOTTOM
    known = [v for _, v in points if v is not None]
    head, tail = _open(title, f"{len(known)} of {len(points)} points have a value.", "line")
    parts = [head]
    if points:
        parts.append(_axes(fmt(top), points[0][0], points[-1][0]))
    runs: list[list[str]] = [[]]
    dots = []
    for i, (label, value) in enumerate(points):
        if value is None:
            runs.append([])
            continue
        x = _LEFT + i * slot + slot / 2
        y = base - (min(value, top) / top if top else 0) * plot_h
        runs[-1].append(f"{_num(x)},{_num(y)}")
        dots.append(
            f'<circle class="dot" cx="{_num(x)}" cy="{_num(y)}" r="3">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    for segment in runs:
        if len(segment) > 1:
            parts.append(f'<polyline class="trace" fill="none" points="{" ".join(segment)}"/>')
    parts.extend(dots)
    parts.append(tail)
    return _svg(parts)


def hbars(
    items: Sequence[tuple[str, float]], *, title: str, fmt: Callable[[float], str] = _plain
) -> Markup:
    """Horizontal bars, one per item, labelled; a ``<g class="bar">`` each."""
    row = 22
    height = _TOP + row * max(len(items), 1) + 6
    label_w = 200
    plot_w = WIDTH - label_w - _RIGHT - 40
    peak = max((v for _, v in items), default=0) or 1
    head, tail = _open(title, f"{len(items)} bars.", "hbars", height)
    parts = [head]
    for i, (label, value) in enumerate(items):
        y = _TOP + i * row
        w = value / peak * plot_w
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {escape(fmt(value))}</title>'
            f'<text class="tick" x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(short)}</text>"
            f'<rect class="seg s-value" x="{label_w}" y="{y + 3}" width="{_num(max(w, 1))}" '
            f'height="{row - 6}"/>'
            f'<text class="tick" x="{_num(label_w + max(w, 1) + 4)}" y="{y + 15}">'
            f"{escape(fmt(value))}</text></g>"
        )
    parts.append(tail)
    return _svg(parts)
