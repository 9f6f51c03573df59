"""Every web page the application serves, found from its routes, and real values for the path
parameters of pages such as ``/runs/{run_id}``.

The benchmark of page render times and the browser tests walk the pages listed here, so a page
added to any router (a ``PageRoute``) is measured and screenshotted without being listed by
hand. A path parameter is filled by ``resolve``: with the first value of its type if that is
a ``Literal`` or an ``Enum``, else from the database: ``{run_id}`` after ``/runs`` is the id
of a row of ``runs``, ``{name}`` after ``/actions`` is a ``name`` of ``actions``. A parameter
that cannot be filled raises ``Unresolvable`` naming the route, so whoever added the page
adds a line to ``TABLES`` or ``COLUMNS`` or types the parameter (never a silent skip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, get_args, get_origin
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Connection, Table, select

from sophrosyne.api.deps import api_routes
from sophrosyne.db.base import Base
from sophrosyne.web.guard import PageRoute

#: GET pages that are not pages to look at: the login form is seen logged out.
NOT_PAGES = frozenset({"/login", "/logout"})
#: A path ending like a file, or with one of these segments, answers a download, not HTML.
_DOWNLOAD = re.compile(r"\.[a-z0-9]{1,5}$|/(export|download|raw)(/|$)")
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

#: The table behind a path segment, where it is not the segment itself (with "-" as "_").
TABLES: dict[str, str] = {
    "knowledge": "articles",
    "tokens": "api_tokens",
    "audit": "audit_log",
    "channels": "notification_channels",
    "routes": "notification_routes",
    "notification_routes": "notification_routes",
    "schedules": "oncall_schedules",
    "oncall": "oncall_schedules",
    "on_call": "oncall_schedules",
    "escalations": "escalation_policies",
    "inhibitions": "inhibit_rules",
    "grouping": "incident_rules",
}
#: The column a parameter names, where it is not ``id`` (for ``*_id``) or the name itself.
COLUMNS: dict[str, str] = {"article_slug": "slug"}


@dataclass(frozen=True)
class Param:
    """One path parameter and the collection segment just before it (``runs``, ``run_id``),
    and the values its type allows when it is a ``Literal`` or an ``Enum`` (else empty)."""

    name: str
    collection: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class SitePage:
    """A GET page: its path template, its parameters, and whether it is a download."""

    path: str
    name: str
    params: tuple[Param, ...]
    download: bool

    def url(self, values: dict[str, str]) -> str:
        """The path with every parameter filled from ``values``."""
        out = self.path
        for p in self.params:
            # Quoted, the value holds no backslash, so it is a plain replacement string.
            value = quote(values[p.name], safe="")
            out = re.sub(r"\{" + p.name + r"(?::\w+)?\}", value, out)
        return out


class Unresolvable(LookupError):
    """A page's path parameter has no value: no table for it, or the table is empty."""


def _choices(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(m.value) for m in annotation)
    if get_origin(annotation) is Literal:
        return tuple(str(v) for v in get_args(annotation))
    return ()


def _params(path: str, route: APIRoute | None = None) -> tuple[Param, ...]:
    types = {p.name: p.field_info.annotation for p in route.dependant.path_params} if route else {}
    out: list[Param] = []
    previous = ""
    for segment in path.strip("/").split("/"):
        found = list(_PARAM.finditer(segment))
        out += [Param(m.group(1), previous, _choices(types.get(m.group(1)))) for m in found]
        if not found:
            previous = segment
    return tuple(out)


def pages(app: FastAPI) -> list[SitePage]:
    """Every GET route of a web router (a ``PageRoute``) but the login and logout, in the
    order they were mounted."""
    out: list[SitePage] = []
    for info in api_routes(app):
        if not isinstance(info.route, PageRoute) or "GET" not in info.methods:
            continue
        if info.path in NOT_PAGES:
            continue
        out.append(
            SitePage(
                path=info.path,
                name=info.route.name,
                params=_params(info.path, info.route),
                download=bool(_DOWNLOAD.search(info.path)),
            )
        )
    return out


def _table_and_column(page: SitePage, param: Param) -> tuple[Table, str]:
    tables = Base.metadata.tables
    segment = param.collection.replace("-", "_")
    table_name = TABLES.get(segment, segment)
    table = tables.get(table_name)
    if table is None:
        raise Unresolvable(
            f"page {page.path}: no table for parameter {{{param.name}}} after "
            f"/{param.collection}; add it to TABLES in sophrosyne.web.sitemap, or type the "
            "parameter with a Literal or an Enum of its values"
        )
    column = COLUMNS.get(param.name) or ("id" if param.name.endswith("_id") else param.name)
    if column not in table.c:
        raise Unresolvable(
            f"page {page.path}: table {table.name} has no column {column!r} for parameter "
            f"{{{param.name}}}; add it to COLUMNS in sophrosyne.web.sitemap"
        )
    return table, column


def resolve(
    conn: Connection, page: SitePage, *, prefer: dict[str, Any] | None = None
) -> dict[str, str]:
    """A real value for each of ``page``'s parameters: the newest row of its table, unless
    ``prefer`` gives one for ``"<collection>.<param>"`` (say ``"runs.run_id"``) or for the
    parameter name. Raises ``Unresolvable`` naming the page when a table is missing or empty."""
    values: dict[str, str] = {}
    for param in page.params:
        chosen = (prefer or {}).get(f"{param.collection}.{param.name}")
        if chosen is None:
            chosen = (prefer or {}).get(param.name)
        if chosen is None and param.choices:
            chosen = param.choices[0]
        if chosen is None:
            table, column = _table_and_column(page, param)
            order = table.primary_key.columns.values()[0] if table.primary_key else table.c[column]
            stmt = select(table.c[column]).order_by(order.desc()).limit(1)
            chosen = conn.execute(stmt).scalar()
            if chosen is None:
                raise Unresolvable(
                    f"page {page.path}: table {table.name} is empty, so {{{param.name}}} has "
                    "no value; seed a row of it"
                )
        values[param.name] = str(chosen)
    return values
