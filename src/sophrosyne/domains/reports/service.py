"""Reports: build one by name for a window and an optional target. The edge parses the
window (``window.parse``), opens a read transaction and calls ``build``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.reports import scope as scopes
from sophrosyne.domains.reports.actions import actions
from sophrosyne.domains.reports.errors import errors
from sophrosyne.domains.reports.insights import insights
from sophrosyne.domains.reports.overview import overview
from sophrosyne.domains.reports.schemas import ReportHead, ReportName
from sophrosyne.domains.reports.scope import Scope
from sophrosyne.domains.reports.servers import servers
from sophrosyne.domains.reports.window import Window
from sophrosyne.errors import NotFound

BUILDERS: dict[str, Callable[[Session, Scope], ReportHead]] = {
    "overview": overview,
    "actions": actions,
    "servers": servers,
    "errors": errors,
    "insights": insights,
}


def build(
    session: Session, name: ReportName | str, window: Window, target: str | None, *, now: datetime
) -> ReportHead:
    """The report ``name`` over ``window``, narrowed to ``target`` when given."""
    builder = BUILDERS.get(name)
    if builder is None:
        raise NotFound("report", name)
    return builder(session, scopes.make(session, window, target, now=now))
