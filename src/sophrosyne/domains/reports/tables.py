"""Each report's main table, flattened for CSV, pure. One CSV per report:

- overview: ``metric,value``, one row per figure (``alerts.new``, ``runs.succeeded``,
  ``incidents.mttr_seconds``…), in the order of the JSON;
- actions: one row per action (the fields of ``ActionRow``);
- servers: one row per target (the fields of ``ServerRow``);
- errors: one row per group (``ErrorGroup``; ``targets`` joined with spaces);
- insights: ``severity,kind,subject,text,evidence`` with the evidence as a JSON object.

Times are ISO 8601 UTC, as in the JSON; a missing value is an empty cell. A text that a
spreadsheet would take for a formula (starting with ``= + - @``, a tab or a carriage return)
gets a leading ``'``: error lines come from commands' output, which whoever makes a run fail
controls.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from sophrosyne.domains.reports.schemas import (
    ActionRow,
    ActionsReport,
    ErrorGroup,
    ErrorsReport,
    InsightsReport,
    Overview,
    ServerRow,
    ServersReport,
)

Table = tuple[list[str], list[list[Any]]]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """How one value reads in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # As the JSON has it (pydantic writes UTC as Z).
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    return str(value)


def _rows(model: type[BaseModel], items: Sequence[BaseModel]) -> Table:
    header = list(model.model_fields)
    return header, [[getattr(item, f) for f in header] for item in items]


def _overview(report: Overview) -> Table:
    rows: list[list[Any]] = []
    for section in ("alerts", "incidents"):
        for key, value in getattr(report, section).model_dump().items():
            rows.append([f"{section}.{key}", value])
    rows.append(["runs.total", report.runs.total])
    for state, n in report.runs.by_state.items():
        rows.append([f"runs.{state}", n])
    rows.append(["runs.success_rate", report.runs.success_rate])
    return ["metric", "value"], rows


def table(report: BaseModel) -> Table:
    """The main table of ``report``: a header and rows."""
    if isinstance(report, Overview):
        return _overview(report)
    if isinstance(report, ActionsReport):
        return _rows(ActionRow, report.actions)
    if isinstance(report, ServersReport):
        return _rows(ServerRow, report.servers)
    if isinstance(report, ErrorsReport):
        return _rows(ErrorGroup, report.groups)
    if isinstance(report, InsightsReport):
        return ["severity", "kind", "subject", "text", "evidence"], [
            [i.severity, i.kind, i.subject, i.text, json.dumps(i.evidence, sort_keys=True)]
            for i in report.insights
        ]
    raise TypeError(f"no table for {type(report).__name__}")


def to_csv(report: BaseModel) -> str:
    header, rows = table(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()
