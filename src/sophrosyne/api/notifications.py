"""Notification channels, routes, escalation policies and the record of notifications.

(No ``from __future__ import annotations`` here: the generic routes need their body types
evaluated, not as strings FastAPI would look up in this module.)

Channel URLs are write-only (``PUT /channels/{name}/urls``, permission ``manage_secrets``): a
channel shows ``has_urls``, never a URL. Objects from config files are read-only here (409).
Every change is audited. Reads need ``read``; changes ``edit_catalog``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.state import utcnow
from sophrosyne.crypto import Secret
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.notifications import escalation, records, service
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import (
    ChannelOut,
    ChannelSpec,
    ChannelUrls,
    EscalationOut,
    NotificationOut,
    PolicyOut,
    PolicySpec,
    RouteOut,
    RouteSpec,
)
from sophrosyne.domains.targets.keys import require_keyring
from sophrosyne.errors import NotFound
from sophrosyne.executors.notify import AppriseNotifier
from sophrosyne.flows import notify

router = APIRouter(tags=["notifications"], responses=ERROR_RESPONSES)

_OUT: dict[type[Any], Any] = {
    Channel: service.channel_out,
    NotificationRoute: service.route_out,
    EscalationPolicy: service.policy_out,
}


def _audit(session: Any, who: Principal, event: str, name: str, detail: Any) -> None:
    audit.record(
        session,
        actor=who.actor,
        action=event,
        object_type=event.split(".", maxsplit=1)[0],
        object_id=name,
        detail=detail,
        now=utcnow(),
    )


def _crud(
    prefix: str, *, model: type[Any], spec_type: type[BaseModel], out: type[BaseModel], kind: str
) -> None:
    """List, get, create, replace and delete routes for one kind of object."""
    to_out = _OUT[model]

    @router.get(prefix, response_model=list[out], summary=f"List {kind}s")  # type: ignore[valid-type]
    def list_(_p: Annotated[Principal, permit("notifications.read")], state: State) -> Any:
        with state.reading() as session:
            return [to_out(r) for r in service.list_all(session, model)]

    @router.get(prefix + "/{name}", response_model=out, summary=f"One {kind}")
    def get(name: str, _p: Annotated[Principal, permit("notifications.read")], state: State) -> Any:
        with state.reading() as session:
            return to_out(service.get(session, model, name))

    @router.post(prefix, response_model=out, status_code=201, summary=f"Create a {kind}")
    def create(
        spec: spec_type,  # type: ignore[valid-type]
        p: Annotated[Principal, permit("notifications.edit")],
        state: State,
    ) -> Any:
        with state.transaction() as session:
            row = service.create(session, model, spec, now=utcnow())
            _audit(session, p, f"{kind}.created", spec.name, spec.model_dump(mode="json"))  # type: ignore[attr-defined]
            return to_out(row)

    @router.put(prefix + "/{name}", response_model=out, summary=f"Replace a {kind}")
    def replace(
        name: str,
        spec: spec_type,  # type: ignore[valid-type]
        p: Annotated[Principal, permit("notifications.edit")],
        state: State,
    ) -> Any:
        with state.transaction() as session:
            row = service.update(session, model, name, spec, now=utcnow())
            _audit(session, p, f"{kind}.updated", name, spec.model_dump(mode="json"))  # type: ignore[attr-defined]
            return to_out(row)

    @router.delete(
        prefix + "/{name}", status_code=204, response_class=Response, summary=f"Delete a {kind}"
    )
    def delete(
        name: str, p: Annotated[Principal, permit("notifications.edit")], state: State
    ) -> Response:
        with state.transaction() as session:
            service.delete(session, model, name)
            _audit(session, p, f"{kind}.deleted", name, {})
        return Response(status_code=status.HTTP_204_NO_CONTENT)


_crud("/channels", model=Channel, spec_type=ChannelSpec, out=ChannelOut, kind="channel")
_crud(
    "/notification-routes", model=NotificationRoute, spec_type=RouteSpec, out=RouteOut, kind="route"
)
_crud(
    "/escalation-policies",
    model=EscalationPolicy,
    spec_type=PolicySpec,
    out=PolicyOut,
    kind="policy",
)


@router.put("/channels/{name}/urls", response_model=ChannelOut, summary="Set a channel's URLs")
def set_urls(
    name: str,
    body: ChannelUrls,
    p: Annotated[Principal, permit("notifications.secrets")],
    state: State,
) -> ChannelOut:
    """Apprise URLs, encrypted at rest, never returned. 422 without a server key."""
    keyring = require_keyring(state.keyring)
    with state.transaction() as session:
        row = service.get(session, Channel, name)
        urls = [Secret(u.get_secret_value()) for u in body.urls]
        service.set_urls(session, keyring, row, urls, now=utcnow())
        _audit(session, p, "channel.urls_set", name, {"count": len(urls)})
        return service.channel_out(row)


@router.delete(
    "/channels/{name}/urls", response_model=ChannelOut, summary="Remove a channel's URLs"
)
def clear_urls(
    name: str, p: Annotated[Principal, permit("notifications.secrets")], state: State
) -> ChannelOut:
    with state.transaction() as session:
        row = service.get(session, Channel, name)
        service.clear_urls(session, row, now=utcnow())
        _audit(session, p, "channel.urls_cleared", name, {})
        return service.channel_out(row)


@router.post("/channels/{name}/test", response_model=NotificationOut, summary="Send a test message")
def test_channel(
    name: str, p: Annotated[Principal, permit("notifications.edit")], state: State
) -> NotificationOut:
    """Sends now and answers with the recorded outcome (``sent`` or ``failed`` and why)."""
    if state.notifier is None:
        state.notifier = AppriseNotifier()
    note = notify.test_channel(
        state.session_factory,
        state.notifier,
        name,
        settings=state.settings,
        keyring=state.keyring,
        clock=state.clock,
    )
    with state.transaction() as session:
        _audit(session, p, "channel.tested", name, {"status": note.status})
    return NotificationOut.model_validate(note)


@router.get("/notifications", response_model=list[NotificationOut], summary="Notifications")
def list_notifications(
    _p: Annotated[Principal, permit("notifications.read")],
    state: State,
    *,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    channel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NotificationOut]:
    """Newest first; with ``subject_kind`` and ``subject_id``, a subject's, oldest first."""
    with state.reading() as session:
        if subject_kind and subject_id:
            rows = records.for_subject(session, subject_kind, subject_id)[:limit]
        else:
            rows = records.search(session, status=status_, channel=channel, limit=limit)
        return [NotificationOut.model_validate(r) for r in rows]


@router.get(
    "/escalations/{kind}/{subject_id}", response_model=EscalationOut, summary="An escalation"
)
def get_escalation(
    kind: str, subject_id: str, _p: Annotated[Principal, permit("notifications.read")], state: State
) -> EscalationOut:
    with state.reading() as session:
        found = escalation.find(session, kind, subject_id)
        if found is None:
            raise NotFound("escalation", f"{kind}/{subject_id}")
        return EscalationOut.model_validate(found)
