"""Rendering pages: the Jinja2 environment (autoescaped), the security headers every page
carries, and the static files served from the package with cache headers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from sophrosyne import __version__
from sophrosyne.domains.accounts import roles
from sophrosyne.domains.accounts.principal import Principal

#: No inline script or style, nothing from another origin, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    # Pages carry the session's CSRF token and live data: never cached.
    "Cache-Control": "no-store",
}
STATIC_PREFIX = "/static"
#: Messages shown after a change, chosen by a code in the URL (``?done=``), never free text.
FLASHES = {
    "cancel": "Cancel requested.",
    "approved": "Approved.",
    "queued": "Approved: the quorum is reached and the run is queued.",
    "rejected": "Rejected.",
    "password": "Password changed.",
    "logout": "You are logged out.",
    # administration (users, tokens, kill switch, silences)
    "user_created": "User created.",
    "user_changed": "User changed.",
    "token_revoked": "Token revoked.",
    "paused": "Automation paused: automatic runs wait for a confirmation.",
    "resumed": "Automation resumed.",
    "silenced": "Silence created.",
    "silence_expired": "Silence expired.",
    "incident_acknowledged": "Incident acknowledged.",
    "incident_resolved": "Incident resolved.",
    "incident_triggered": "Incident reopened.",
    "incident_edited": "Incident updated.",
    "note": "Note added.",
    "task_acknowledged": "Task acknowledged.",
    "task_done": "Task done.",
    "task_dismissed": "Task dismissed.",
    "article_saved": "Article saved.",
    "maintenance_created": "Maintenance window created.",
    "maintenance_ended": "Maintenance window ended.",
    "action_saved": "Action saved.",
    "action_deleted": "Action deleted.",
    "rule_saved": "Rule saved.",
    "rule_deleted": "Rule deleted.",
}


class PackageStatic(StaticFiles):
    """The package's ``static/`` folder. URLs carry a digest of the files (``?v=``), so a
    browser may keep them a year; a new release changes the digest."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> PackageStatic:
    return PackageStatic(packages=[("sophrosyne.web", "static")])


def _asset_digest() -> str:
    digest = hashlib.sha256(__version__.encode())
    folder = resources.files("sophrosyne.web") / "static"
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if item.is_file():
            digest.update(item.name.encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sophrosyne.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["iso"] = _iso
    env.globals["asset_version"] = _asset_digest()
    env.globals["static"] = STATIC_PREFIX
    return env


@dataclass(frozen=True)
class Pages:
    """What renders pages for one application (kept on ``app.state``)."""

    env: Environment

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        principal: Principal | None = getattr(request.state, "principal", None)

        def can(activity: str) -> bool:
            return principal is not None and principal.can(roles.ACTIVITIES[activity])

        ctx: dict[str, Any] = {
            "request": request,
            "principal": principal,
            "csrf": getattr(request.state, "csrf", ""),
            "can": can,
            "path": request.url.path,
            "flash": FLASHES.get(request.query_params.get("done", ""), ""),
            # The kill switch, read once per request by the page check (``guard``).
            "automation": getattr(request.state, "automation", None),
            **(context or {}),
        }
        html = self.env.get_template(template).render(ctx)
        return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.sophrosyne_pages
    return pages
