"""Config as code for notification channels, routes, on-call schedules and escalation
policies: the part of ``flows.apply`` that makes the database hold them.

Routes, schedules and policies go through ``flows.apply``'s generic upsert (their stored
shape is their spec). Channels are apart because their URLs are not in the files: they are
read from the variable or file the channel names (``flows.confignotify.read_urls``) at apply
time and stored encrypted under the server key, as URLs set through the API are; a re-apply
compares them with the stored ones (decrypted) and records only *that* they changed and how
many there are, never a URL. Overrides of a file-managed schedule stay API-made (they are the
day-to-day part); removing the schedule from the files deletes them with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.crypto import CryptoError, Keyring, Secret
from sophrosyne.domains.accounts.models import User
from sophrosyne.domains.notifications import service as notifications
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy, NotificationRoute
from sophrosyne.domains.notifications.schemas import ChannelSpec
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.errors import Conflict
from sophrosyne.flows.configcode import ConfigBundle, Defined
from sophrosyne.flows.confignotify import Known, read_urls

FILE = "file"
#: ``flows.apply._upsert`` with the session, kind, items and stored objects given.
Upsert = Callable[..., None]


class Record(Protocol):
    """``flows.apply``'s way to count and audit one change."""

    def __call__(
        self, verb: str, kind: str, name: str, *, source: str | None, object_id: int, detail: Any
    ) -> None: ...


class _Stored:
    """The four kinds as the database holds them, by name."""

    def __init__(self, session: Session) -> None:
        self.channels = {c.name: c for c in notifications.list_all(session, Channel)}
        self.routes = {r.name: r for r in notifications.list_all(session, NotificationRoute)}
        self.policies = {p.name: p for p in notifications.list_all(session, EscalationPolicy)}
        self.schedules = {s.name: s for s in oncall.list_all(session)}


def known(session: Session, bundle: ConfigBundle, *, keyring: Keyring | None) -> Known:
    """What routes and policies in the files may also name: channels and schedules managed
    through the API, the active users; and whether URLs can be encrypted."""
    stored = _Stored(session)
    users = session.scalars(select(User.username).where(User.disabled.is_(False)))
    return Known(
        channels=frozenset(n for n, c in stored.channels.items() if c.managed_by != FILE),
        schedules=frozenset(n for n, s in stored.schedules.items() if s.managed_by != FILE),
        users=frozenset(users),
        can_encrypt=keyring is not None,
    )


def _items(bundle: ConfigBundle, stored: _Stored) -> list[tuple[str, Defined[Any], Any]]:
    items: list[tuple[str, Defined[Any], Any]] = [
        ("channel", c, stored.channels.get(c.spec.name)) for c in bundle.channels
    ]
    items += [("route", r, stored.routes.get(r.spec.name)) for r in bundle.notification_routes]
    items += [("schedule", s, stored.schedules.get(s.spec.name)) for s in bundle.schedules]
    items += [("policy", p, stored.policies.get(p.spec.name)) for p in bundle.escalation_policies]
    return items


def refuse_conflicts(session: Session, bundle: ConfigBundle) -> None:
    """Refuse, before anything changes: a file object taking over a name managed through the
    API, and removing from the files a channel or schedule that an API-made route or policy
    still names (it would fail at the next incident, silently)."""
    stored = _Stored(session)
    clashes = []
    for kind, item, existing in _items(bundle, stored):
        if existing is not None and existing.managed_by != FILE:
            line = bundle.line(item.file, (*item.loc, "name"))
            clashes.append(
                f"{item.file}:{line}: {kind} {item.spec.name!r} is already managed by "
                f"{existing.managed_by}"
            )
    if clashes:
        raise Conflict(
            "; ".join(clashes) + " — rename the object in the file, or delete the other first"
        )
    kept_channels = {c.spec.name for c in bundle.channels}
    kept_schedules = {s.spec.name for s in bundle.schedules}
    gone_channels = {
        n for n, c in stored.channels.items() if c.managed_by == FILE and n not in kept_channels
    }
    gone_schedules = {
        n for n, s in stored.schedules.items() if s.managed_by == FILE and n not in kept_schedules
    }
    users = []
    for route in stored.routes.values():
        if route.managed_by != FILE:
            users += [
                f"channel {c!r} was removed from the files but route {route.name!r} "
                "(not file-managed) uses it"
                for c in route.channels
                if c in gone_channels
            ]
    for policy in stored.policies.values():
        if policy.managed_by == FILE:
            continue
        for step in notifications.policy_spec(policy).steps:
            for kind, name, gone in (
                ("channel", step.notify.channel, gone_channels),
                ("schedule", step.notify.schedule, gone_schedules),
            ):
                if name in gone:
                    users.append(
                        f"{kind} {name!r} was removed from the files but escalation policy "
                        f"{policy.name!r} (not file-managed) uses it"
                    )
    if users:
        raise Conflict("; ".join(users))


def _route_create(session: Session, spec: Any, **kw: Any) -> NotificationRoute:
    return notifications.create(session, NotificationRoute, spec, **kw)


def _route_update(session: Session, name: str, spec: Any, **kw: Any) -> NotificationRoute:
    return notifications.update(session, NotificationRoute, name, spec, **kw)


def _policy_create(session: Session, spec: Any, **kw: Any) -> EscalationPolicy:
    return notifications.create(session, EscalationPolicy, spec, **kw)


def _policy_update(session: Session, name: str, spec: Any, **kw: Any) -> EscalationPolicy:
    return notifications.update(session, EscalationPolicy, name, spec, **kw)


def _stored_urls(row: Channel, keyring: Keyring | None) -> list[str] | None:
    """The URLs stored for ``row``; None when they cannot be read (then they are replaced)."""
    if row.urls_ciphertext is None:
        return []
    try:
        return [u.reveal() for u in notifications.reveal_urls(row, keyring)]
    except (CryptoError, ValueError):
        return None


def _apply_channels(
    session: Session,
    bundle: ConfigBundle,
    stored: Mapping[str, Channel],
    *,
    keyring: Keyring | None,
    record: Record,
    unchanged: Callable[[str, str], None],
    now: datetime,
) -> None:
    for item in bundle.channels:
        spec, row, source = item.spec, stored.get(item.spec.name), item.source_file
        # Validated already: the variable or file is there and holds URLs.
        urls = read_urls(spec, bundle.root)
        definition = ChannelSpec(name=spec.name, **spec.definition())
        kw: dict[str, Any] = {"now": now, "managed_by": FILE, "source_file": source}
        if row is None:
            row = notifications.create(session, Channel, definition, **kw)
            changed: dict[str, Any] = {}
            verb, detail = "created", {"spec": spec.model_dump(mode="json")}
        else:
            changed = {
                k: [getattr(row, k), v]
                for k, v in spec.definition().items()
                if getattr(row, k) != v
            }
            if row.source_file != source:
                changed["source_file"] = [row.source_file, source]
            verb, detail = "updated", {"changes": changed}
        before = _stored_urls(row, keyring)
        if before != urls:
            # Only how many: the URLs carry tokens and the audit log is readable by many.
            changed["url_count"] = [None if before is None else len(before), len(urls)]
        if verb == "updated" and not changed:
            unchanged("channel", spec.name)
            continue
        if verb == "updated":
            notifications.update(session, Channel, spec.name, definition, **kw)
        if urls and before != urls:
            assert keyring is not None  # validation refuses URLs without a key
            secrets = [Secret(u) for u in urls]
            notifications.set_urls(session, keyring, row, secrets, now=now, managed_by=FILE)
        elif not urls and row.urls_ciphertext is not None:
            notifications.clear_urls(session, row, now=now, managed_by=FILE)
        record(verb, "channel", spec.name, source=source, object_id=row.id, detail=detail)


def upsert(
    session: Session,
    bundle: ConfigBundle,
    *,
    upsert: Upsert,
    keyring: Keyring | None,
    record: Record,
    unchanged: Callable[[str, str], None],
    now: datetime,
) -> None:
    """Create what is new and update what changed, for the four kinds."""
    stored = _Stored(session)
    _apply_channels(
        session,
        bundle,
        stored.channels,
        keyring=keyring,
        record=record,
        unchanged=unchanged,
        now=now,
    )
    upsert(
        session,
        "schedule",
        bundle.schedules,
        stored.schedules,
        current=oncall.to_spec,
        create=oncall.create,
        update=oncall.update,
        now=now,
    )
    upsert(
        session,
        "route",
        bundle.notification_routes,
        stored.routes,
        current=notifications.route_spec,
        create=_route_create,
        update=_route_update,
        now=now,
    )
    upsert(
        session,
        "policy",
        bundle.escalation_policies,
        stored.policies,
        current=notifications.policy_spec,
        create=_policy_create,
        update=_policy_update,
        now=now,
    )


def delete_removed(session: Session, bundle: ConfigBundle, *, record: Record) -> None:
    """Delete the file-managed objects that the files no longer define."""
    stored = _Stored(session)
    routes = {r.spec.name for r in bundle.notification_routes}
    policies = {p.spec.name for p in bundle.escalation_policies}
    wanted: list[tuple[str, Mapping[str, Any], set[str], type[Any]]] = [
        ("route", stored.routes, routes, NotificationRoute),
        ("policy", stored.policies, policies, EscalationPolicy),
        ("channel", stored.channels, {c.spec.name for c in bundle.channels}, Channel),
    ]
    for kind, rows, keep, model in wanted:
        for name, row in rows.items():
            if row.managed_by == FILE and name not in keep:
                notifications.delete(session, model, name, managed_by=FILE)
                record("deleted", kind, name, source=row.source_file, object_id=row.id, detail={})
    keep_schedules = {s.spec.name for s in bundle.schedules}
    for name, schedule in stored.schedules.items():
        if schedule.managed_by == FILE and name not in keep_schedules:
            oncall.delete(session, name, managed_by=FILE)
            record(
                "deleted",
                "schedule",
                name,
                source=schedule.source_file,
                object_id=schedule.id,
                detail={},
            )
