"""The fatigue report as CSV: one row per offender, points of each component, and the
recommendations joined with `` | `` (spreadsheets and tickets take it as it is)."""

from __future__ import annotations

import csv
import io

from sophrosyne.domains.fatigue.schemas import FatigueReport
from sophrosyne.domains.fatigue.score import WEIGHTS

_FIXED = (
    "rank",
    "source",
    "alertname",
    "score",
    "firings",
    "per_day",
    "alerts",
    "acted",
    "resolved",
    "short_lived",
    "median_seconds",
    "flapping",
    "silenced",
    "inhibited",
    "peak",
)


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with a quote (labels come
    from whatever sends alerts)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def header() -> list[str]:
    return [*_FIXED, *(f"{name}_points" for name in WEIGHTS), "recommendations"]


def to_csv(report: FatigueReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header())
    for o in report.offenders:
        points = {c.name: c.points for c in o.components}
        writer.writerow(
            [
                *(_cell(getattr(o, name)) for name in _FIXED),
                *(points.get(name, 0.0) for name in WEIGHTS),
                _cell(" | ".join(r.text for r in o.recommendations)),
            ]
        )
    return out.getvalue()
