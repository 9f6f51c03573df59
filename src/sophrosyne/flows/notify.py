"""Notifications as a use case: route a subject, deliver what is pending, fire escalations.

Recording and sending are apart. ``notify_subject`` records pending (or suppressed)
notifications in the caller's transaction, so they commit with the change that caused them.
``deliver_pending`` claims pending ones in a short transaction, sends each through the
notifier with no transaction open, and records the outcome in another. ``housekeep`` is the
worker's step: fire due escalation steps, then deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import CryptoError, Keyring, Secret, redact
from sophrosyne.domains.notifications import escalation, records, service
from sophrosyne.domains.notifications.escalation import IsAcknowledged
from sophrosyne.domains.notifications.messages import Subject
from sophrosyne.domains.notifications.models import Channel, Notification
from sophrosyne.executors.notify import NotifyRequest, NotifyResult
from sophrosyne.flows import announce
from sophrosyne.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]


class Notifier(Protocol):
    """What ``executors.notify`` provides (``AppriseNotifier``, ``FakeNotifier``)."""

    def send(self, request: NotifyRequest) -> NotifyResult: ...


def notify_subject(
    session: Session,
    subject: Subject,
    *,
    settings: Settings,
    now: datetime,
    event: str = "triggered",
) -> list[Notification]:
    """Record what the routes decide for ``subject`` (in the caller's transaction)."""
    return records.route(session, subject, event=event, public_url=settings.public_url, now=now)


def advance_escalations(
    session: Session,
    *,
    now: datetime,
    settings: Settings,
    is_acknowledged: IsAcknowledged | None = None,
) -> list[Notification]:
    """Fire the escalation steps due at ``now`` (in the caller's transaction)."""
    return escalation.advance(
        session, now=now, public_url=settings.public_url, is_acknowledged=is_acknowledged
    )


def email_url(smtp_url: str, address: str) -> str:
    """The SMTP apprise URL with ``to=`` set to ``address``."""
    parts = urlsplit(smtp_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "to"]
    query.append(("to", address))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _urls(
    session: Session, note: Notification, keyring: Keyring | None, settings: Settings
) -> list[Secret] | str:
    """The URLs to send ``note`` to, or why there are none."""
    if note.channel == escalation.EMAIL and note.address:
        if settings.notify_smtp_url is None:
            return "no SMTP server configured (SOPHROSYNE_NOTIFY_SMTP_URL)"
        return [Secret(email_url(settings.notify_smtp_url.get_secret_value(), note.address))]
    channel = service.find(session, Channel, note.channel or "")
    if channel is None:
        return f"no channel named {note.channel!r}"
    try:
        urls = service.reveal_urls(channel, keyring)
    except CryptoError as exc:
        return f"cannot decrypt the channel's URLs: {exc}"
    return urls or "the channel has no URL (set its URLs or its url_env variable)"


def deliver_pending(
    session_factory: sessionmaker[Session],
    notifier: Notifier,
    *,
    settings: Settings,
    keyring: Keyring | None,
    clock: Clock,
    limit: int = 20,
) -> int:
    """Send pending notifications; how many were attempted."""
    with session_factory.begin() as session:
        claimed = records.claim(session, limit=limit)
        jobs: list[Job] = [
            (n.id, n.channel, n.title, n.body, _urls(session, n, keyring, settings))
            for n in claimed
        ]
    for job in jobs:
        _send(session_factory, notifier, job, settings=settings, clock=clock)
    return len(jobs)


Job = tuple[int, str | None, str, str, list[Secret] | str]


def _send(
    session_factory: sessionmaker[Session],
    notifier: Notifier,
    job: Job,
    *,
    settings: Settings,
    clock: Clock,
) -> None:
    """Send one claimed notification (no transaction open) and record how it went."""
    nid, channel, title, body, urls = job
    if isinstance(urls, str):
        result = NotifyResult(False, urls)
    else:
        result = notifier.send(NotifyRequest(urls, title, body, settings.notify_timeout_seconds))
    reason = None
    if not result.ok:
        reason = redact(result.reason or "failed", [] if isinstance(urls, str) else urls)
    with session_factory.begin() as session:
        records.finish(session, nid, ok=result.ok, reason=reason, now=clock())
    if result.ok:
        log.info("notification.sent", notification_id=nid, channel=channel)
    else:
        log.warning("notification.failed", notification_id=nid, channel=channel, reason=reason)


def housekeep(
    session_factory: sessionmaker[Session],
    notifier: Notifier,
    *,
    settings: Settings,
    keyring: Keyring | None,
    clock: Clock,
    is_acknowledged: IsAcknowledged | None = None,
) -> int:
    """The worker's notification step: fire due escalation steps, deliver what is pending."""
    with session_factory.begin() as session:
        announce.announce(session, settings=settings, now=clock())
        advance_escalations(
            session, now=clock(), settings=settings, is_acknowledged=is_acknowledged
        )
    sent = 0
    while attempted := deliver_pending(
        session_factory, notifier, settings=settings, keyring=keyring, clock=clock
    ):
        sent += attempted
    return sent


def test_channel(
    session_factory: sessionmaker[Session],
    notifier: Notifier,
    name: str,
    *,
    settings: Settings,
    keyring: Keyring | None,
    clock: Clock,
) -> Notification:
    """Send a test message to channel ``name`` now, recorded like any other."""
    subject = Subject(kind="run", id="test", title=f"Test message to channel {name}")
    body = f"Sophrosyne can reach channel {name}.\n{settings.public_url}\n"
    with session_factory.begin() as session:
        service.get(session, Channel, name)
        intent = records.Intent(name, subject.title, body, status=records.SENDING)
        note = records.record(session, subject, "test", [intent], now=clock())[0]
        job = (note.id, name, note.title, note.body, _urls(session, note, keyring, settings))
    _send(session_factory, notifier, job, settings=settings, clock=clock)
    with session_factory.begin() as session:
        stored = session.get(Notification, job[0])
        assert stored is not None
        session.expunge(stored)
        return stored
