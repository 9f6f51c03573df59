"""Settings, for those who administer: the kill switch (pause every automatic run with a
reason, resume) through the same flow as ``PUT /api/v1/automation``, and the effective
settings worth seeing. Only an allow-list is shown: never a key, a password, or a URL that may
carry credentials (the database and SMTP URLs show only whether and what they are)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import pydantic
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sophrosyne.api.deps import State
from sophrosyne.api.state import AppState
from sophrosyne.config import Settings
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.guards import service as guards
from sophrosyne.domains.guards.schemas import AutomationChange
from sophrosyne.domains.targets.keys import key_configured
from sophrosyne.flows import killswitch
from sophrosyne.logging import get_logger
from sophrosyne.web.edits import by_field
from sophrosyne.web.guard import PageRoute, page, see_other
from sophrosyne.web.render import pages_of

log = get_logger(__name__)
router = APIRouter(route_class=PageRoute, include_in_schema=False)

Switching = Annotated[Principal, page("automation.kill_switch")]

#: Settings shown as they are: none of them can hold a secret.
SHOWN = (
    "data_dir",
    "config_dir",
    "host",
    "port",
    "public_url",
    "log_level",
    "log_format",
    "sqlite_synchronous",
    "worker_slots",
    "worker_poll_seconds",
    "worker_heartbeat_seconds",
    "worker_lease_seconds",
    "output_cap_bytes",
    "max_body_bytes",
    "attachment_max_bytes",
    "auth_cache_seconds",
    "cookie_secure",
    "session_idle_seconds",
    "session_lifetime_seconds",
    "token_default_days",
    "token_max_days",
    "fix_window_seconds",
    "fix_signature_labels",
    "incident_group_by",
    "incident_window_seconds",
    "incident_auto_resolve",
    "escalation_policy",
    "notify_timeout_seconds",
)


def _without_credentials(url: str) -> str:
    """``url`` without a user or password, should someone have put them there."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def effective(settings: Settings) -> list[tuple[str, str]]:
    """(name, value) of the settings worth seeing; secrets appear as "set" or "not set"."""
    out: list[tuple[str, str]] = []
    for name in SHOWN:
        value = getattr(settings, name)
        text = "—" if value is None else str(value)
        if name == "public_url":
            text = _without_credentials(text)
        out.append((name, text))
    backend = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    out.append(("database", backend))
    out.append(("secret_key", "set" if key_configured(settings) else "not set"))
    out.append(("notify_smtp_url", "set" if settings.notify_smtp_url else "not set"))
    return out


def _page(
    request: Request,
    state: AppState,
    *,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with state.reading() as session:
        automation = guards.automation(session)
    return pages_of(request).render(
        request,
        "settings.html",
        {
            "automation": automation,
            "settings": effective(state.settings),
            "reason": reason,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/settings")
def settings_page(
    request: Request, state: State, _principal: Annotated[Principal, page("settings.read")]
) -> Response:
    return _page(request, state)


def _switch(state: AppState, principal: Principal, change: AutomationChange) -> bool:
    with state.transaction() as session:
        _out, changed = killswitch.set_automation(
            session, change, principal, now=state.clock(), via="web"
        )
    event = "automation.paused" if change.paused else "automation.resumed"
    log.warning(event, by=principal.actor, reason=change.reason, via="web")
    return changed


@router.post("/settings/pause")
def pause(
    request: Request,
    state: State,
    principal: Switching,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        change = AutomationChange(paused=True, reason=reason)
    except pydantic.ValidationError as exc:
        errors = by_field(exc)
        return _page(request, state, reason=reason, errors=errors, status_code=422)
    _switch(state, principal, change)
    return see_other("/settings?done=paused")


@router.post("/settings/resume")
def resume(state: State, principal: Switching) -> Response:
    if _switch(state, principal, AutomationChange(paused=False)):
        state.wake()  # runs held while paused may start now
    return see_other("/settings?done=resumed")
