"""Channels, routes and escalation policies: create, update, delete, and channel URLs.

A channel's apprise URLs are encrypted with the key ring under ``channel:<id>:urls``; nothing
here returns them except :func:`reveal_urls`, which gives ``Secret`` wrappers to the sender.
Objects from config files (``managed_by: file``) are read-only through the API. Services
never commit.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne import templating
from sophrosyne.crypto import CryptoError, Keyring, Secret, make_context
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import (
    ChannelOut,
    ChannelSpec,
    PolicyOut,
    PolicySpec,
    RouteOut,
    RouteSpec,
)
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matchers
from sophrosyne.errors import Conflict, FieldError, NotFound, ReadOnly, ValidationFailed

Row = TypeVar("Row", Channel, NotificationRoute, EscalationPolicy)
#: What an apprise URL looks like (``scheme://…``); apprise itself says whether it works.
URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_KIND = {Channel: "channel", NotificationRoute: "route", EscalationPolicy: "escalation policy"}


def _context(channel_id: int) -> str:
    return make_context("channel", str(channel_id), "urls")


def find(session: Session, model: type[Row], name: str) -> Row | None:
    return session.scalar(select(model).where(model.name == name))


def get(session: Session, model: type[Row], name: str) -> Row:
    row = find(session, model, name)
    if row is None:
        raise NotFound(_KIND[model], name)
    return row


def list_all(session: Session, model: type[Row]) -> list[Row]:
    return list(session.scalars(select(model).order_by(model.name)))


def _check_owner(row: Channel | NotificationRoute | EscalationPolicy, managed_by: str) -> None:
    ReadOnly.unless_owner(_KIND[type(row)], row.name, row.managed_by, managed_by)


def _values(spec: ChannelSpec | RouteSpec | PolicySpec) -> dict[str, Any]:
    values = spec.model_dump(mode="json")
    values.pop("name")
    return values


def route_problems(spec: RouteSpec) -> list[FieldError]:
    """Matchers that do not parse and templates that do not compile."""
    out: list[FieldError] = []
    for i, text in enumerate(spec.matchers):
        try:
            parse_matchers([text])
        except MatcherSyntaxError as exc:
            out.append(FieldError(("matchers", i), str(exc)))
    for name in ("title_template", "body_template"):
        source = getattr(spec, name)
        if source:
            try:
                templating.check_syntax(source)
            except templating.TemplateFailed as exc:
                out.append(FieldError((name,), str(exc)))
    return out


def _check(spec: ChannelSpec | RouteSpec | PolicySpec) -> None:
    if isinstance(spec, RouteSpec) and (problems := route_problems(spec)):
        raise ValidationFailed(problems)


def create(
    session: Session,
    model: type[Row],
    spec: Any,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Row:
    """Store a new channel, route or policy from its spec; ``Conflict`` if the name is taken."""
    _check(spec)
    if find(session, model, spec.name) is not None:
        raise Conflict(f"a {_KIND[model]} named {spec.name!r} already exists")
    row = model(
        name=spec.name,
        managed_by=managed_by,
        source_file=source_file,
        created_at=now,
        updated_at=now,
        **_values(spec),
    )
    session.add(row)
    session.flush()
    return row


def update(
    session: Session,
    model: type[Row],
    name: str,
    spec: Any,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Row:
    _check(spec)
    row = get(session, model, name)
    _check_owner(row, managed_by)
    if spec.name != name:
        raise Conflict(f"a {_KIND[model]} cannot be renamed; create a new one")
    for key, value in _values(spec).items():
        setattr(row, key, value)
    row.source_file = source_file
    row.updated_at = now
    session.flush()
    return row


def delete(session: Session, model: type[Row], name: str, *, managed_by: str = "api") -> Row:
    row = get(session, model, name)
    _check_owner(row, managed_by)
    session.delete(row)
    session.flush()
    return row


# --- the shapes the API shows and the files hold ---------------------------------------------


def channel_spec(row: Channel) -> ChannelSpec:
    return ChannelSpec(
        name=row.name, description=row.description, enabled=row.enabled, url_env=row.url_env
    )


def channel_out(row: Channel) -> ChannelOut:
    return ChannelOut(
        **channel_spec(row).model_dump(),
        id=row.id,
        has_urls=row.urls_ciphertext is not None,
        managed_by=row.managed_by,
        source_file=row.source_file,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def route_spec(row: NotificationRoute) -> RouteSpec:
    return RouteSpec.model_validate(
        {"name": row.name} | {k: getattr(row, k) for k in RouteSpec.model_fields if k != "name"}
    )


def route_out(row: NotificationRoute) -> RouteOut:
    return RouteOut(
        **route_spec(row).model_dump(),
        id=row.id,
        managed_by=row.managed_by,
        source_file=row.source_file,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def policy_spec(row: EscalationPolicy) -> PolicySpec:
    return PolicySpec.model_validate(
        {"name": row.name, "description": row.description, "steps": row.steps, "repeat": row.repeat}
    )


def policy_out(row: EscalationPolicy) -> PolicyOut:
    return PolicyOut(
        **policy_spec(row).model_dump(),
        id=row.id,
        managed_by=row.managed_by,
        source_file=row.source_file,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- channel URLs -----------------------------------------------------------------------------


def set_urls(
    session: Session,
    keyring: Keyring,
    channel: Channel,
    urls: list[Secret],
    *,
    now: datetime,
    managed_by: str = "api",
) -> None:
    """Store (or replace) the channel's apprise URLs, encrypted with the current key."""
    _check_owner(channel, managed_by)
    values = [u.reveal().strip() for u in urls]
    bad = [i for i, v in enumerate(values) if not URL_PATTERN.match(v)]
    if bad:
        raise ValidationFailed(
            [FieldError(("urls", i), "not an apprise URL (scheme://…)") for i in bad]
        )
    channel.urls_ciphertext = keyring.encrypt(json.dumps(values), context=_context(channel.id))
    channel.updated_at = now
    session.flush()


def clear_urls(
    session: Session, channel: Channel, *, now: datetime, managed_by: str = "api"
) -> None:
    _check_owner(channel, managed_by)
    if channel.urls_ciphertext is None:
        raise NotFound("urls of channel", channel.name)
    channel.urls_ciphertext = None
    channel.updated_at = now
    session.flush()


def reveal_urls(channel: Channel, keyring: Keyring | None) -> list[Secret]:
    """The channel's URLs: stored ones (decrypted) and those of ``url_env``; may be empty.
    ``CryptoError`` when stored URLs cannot be decrypted (no key, or the wrong one)."""
    out: list[Secret] = []
    if channel.urls_ciphertext is not None:
        if keyring is None:
            raise CryptoError("no secret key configured to decrypt the channel's URLs")
        plain = keyring.decrypt(channel.urls_ciphertext, context=_context(channel.id))
        out += [Secret(u) for u in json.loads(plain)]
    if channel.url_env:
        raw = os.environ.get(channel.url_env, "")
        out += [Secret(u) for u in re.split(r"[\s,]+", raw) if u]
    return out


def rotate_all(session: Session, keyring: Keyring) -> int:
    """Re-encrypt channel URLs still under an old key; how many were re-encrypted."""
    count = 0
    for row in session.scalars(select(Channel).where(Channel.urls_ciphertext.is_not(None))):
        assert row.urls_ciphertext is not None
        if keyring.needs_rotation(row.urls_ciphertext):
            row.urls_ciphertext = keyring.rotate(row.urls_ciphertext, context=_context(row.id))
            count += 1
    session.flush()
    return count
