"""The record of notifications: what routing decides for a subject (pending or suppressed,
with why), claiming pending ones for sending, and storing how each send ended.

Sending itself happens outside any transaction (``flows.notify``): a row is ``pending``
(intent, committed with the caller's change), then ``sending`` (claimed by one worker), then
``sent`` or ``failed`` with the reason. Services never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sophrosyne import templating
from sophrosyne.domains.notifications.messages import Subject, below_minimum, render
from sophrosyne.domains.notifications.models import Channel, Notification, NotificationRoute
from sophrosyne.domains.rules.matching import first_mismatch, parse_matchers

PENDING, SENDING, SENT, FAILED, SUPPRESSED = "pending", "sending", "sent", "failed", "suppressed"


@dataclass(frozen=True)
class Intent:
    """One message to record: to a channel, or to a person at an address."""

    channel: str | None
    title: str
    body: str
    status: str = PENDING
    reason: str | None = None
    recipient: str | None = None
    address: str | None = None
    route: str | None = None
    policy: str | None = None
    step: int | None = None


def record(
    session: Session, subject: Subject, event: str, intents: Sequence[Intent], *, now: datetime
) -> list[Notification]:
    """Store ``intents`` for ``subject``; suppressed ones are finished at once."""
    rows = [
        Notification(
            subject_kind=subject.kind,
            subject_id=subject.id,
            event=event,
            channel=i.channel,
            recipient=i.recipient,
            address=i.address,
            route=i.route,
            policy=i.policy,
            step=i.step,
            status=i.status,
            reason=i.reason,
            attempt=1 if i.status == SENDING else 0,
            title=i.title,
            body=i.body,
            created_at=now,
            finished_at=now if i.status in (SENT, FAILED, SUPPRESSED) else None,
        )
        for i in intents
    ]
    session.add_all(rows)
    session.flush()
    return rows


def route(
    session: Session,
    subject: Subject,
    *,
    event: str = "triggered",
    public_url: str,
    now: datetime,
) -> list[Notification]:
    """Every enabled route decides: its channels get a pending message, or the route records
    one suppressed entry saying why it held back. A channel gets one message per event even
    when several routes name it. With no routes at all, one suppressed entry says so."""
    routes = list(
        session.scalars(select(NotificationRoute).where(NotificationRoute.enabled.is_(True)))
    )
    channels = {c.name: c for c in session.scalars(select(Channel))}
    intents: list[Intent] = []
    taken: set[str] = set()
    if not routes:
        intents.append(Intent(None, subject.title, "", SUPPRESSED, "no notification route"))
    for r in sorted(routes, key=lambda r: r.name):
        intents += _decide(
            r, subject, event=event, channels=channels, taken=taken, public_url=public_url
        )
    return record(session, subject, event, intents, now=now)


def _decide(
    r: NotificationRoute,
    subject: Subject,
    *,
    event: str,
    channels: dict[str, Channel],
    taken: set[str],
    public_url: str,
) -> list[Intent]:
    def held(reason: str, channel: str | None = None) -> Intent:
        return Intent(channel, subject.title, "", SUPPRESSED, reason, route=r.name)

    mismatch = first_mismatch(parse_matchers(list(r.matchers)), subject.labels)
    if mismatch is not None:
        return [held(f"route {r.name}: labels do not match {mismatch}")]
    if below_minimum(subject.severity, r.min_severity):
        return [held(f"route {r.name}: severity {subject.severity} is below {r.min_severity}")]
    try:
        title, body = render(
            subject,
            public_url=public_url,
            event=event,
            title_template=r.title_template,
            body_template=r.body_template,
        )
    except templating.TemplateFailed as exc:
        return [Intent(None, subject.title, "", FAILED, f"route {r.name}: {exc}", route=r.name)]
    out: list[Intent] = []
    for name in r.channels:
        channel = channels.get(name)
        if name in taken:
            continue
        taken.add(name)
        if channel is None:
            out.append(
                Intent(name, title, body, FAILED, f"no channel named {name!r}", route=r.name)
            )
        elif not channel.enabled:
            out.append(held(f"channel {name} is disabled", name))
        else:
            out.append(Intent(name, title, body, route=r.name))
    return out


def claim(session: Session, *, limit: int = 20) -> list[Notification]:
    """Pending notifications this caller now owns (``sending``), oldest first. A row another
    worker claimed in between is skipped (the conditional update finds nothing)."""
    ids = list(
        session.scalars(
            select(Notification.id)
            .where(Notification.status == PENDING)
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    mine: list[int] = []
    for nid in ids:
        done = session.execute(
            update(Notification)
            .where(Notification.id == nid, Notification.status == PENDING)
            .values(status=SENDING, attempt=Notification.attempt + 1)
        )
        if getattr(done, "rowcount", 0) == 1:
            mine.append(nid)
    if not mine:
        return []
    session.flush()
    rows = session.scalars(select(Notification).where(Notification.id.in_(mine)))
    return sorted(rows, key=lambda n: n.id)


def finish(
    session: Session, notification_id: int, *, ok: bool, reason: str | None, now: datetime
) -> None:
    """Store how the send of a claimed notification ended."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(status=SENT if ok else FAILED, reason=reason, finished_at=now)
    )


def for_subject(session: Session, kind: str, subject_id: str) -> list[Notification]:
    """A subject's notifications, oldest first (for its timeline)."""
    stmt = (
        select(Notification)
        .where(Notification.subject_kind == kind, Notification.subject_id == subject_id)
        .order_by(Notification.id)
    )
    return list(session.scalars(stmt))


def search(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Notification]:
    """Newest first."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Notification.status == status)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    if before_id is not None:
        stmt = stmt.where(Notification.id < before_id)
    return list(session.scalars(stmt))
