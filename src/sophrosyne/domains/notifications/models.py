"""ORM models of notifications: channels (apprise URLs encrypted), routes, escalation
policies, every notification sent, failed or suppressed, and the escalations under way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sophrosyne.db.base import Base


class Channel(Base):
    """Where messages go: one or more apprise URLs, stored as one keyring token (the URLs
    embed tokens), or read from the environment variable ``url_env`` at send time."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    url_env: Mapped[str | None] = mapped_column(String(200))
    #: ``Keyring`` token of the JSON list of URLs, bound to ``channel:<id>:urls``.
    urls_ciphertext: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotificationRoute(Base):
    """Which subjects go to which channels: label matchers, a minimum severity, templates."""

    __tablename__ = "notification_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    matchers: Mapped[list[Any]]
    min_severity: Mapped[str | None] = mapped_column(String(32))
    channels: Mapped[list[Any]]
    title_template: Mapped[str | None] = mapped_column(Text)
    body_template: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EscalationPolicy(Base):
    """Ordered steps (notify a schedule's on-call, a user or a channel; wait), repeated."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[Any]]
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    managed_by: Mapped[str] = mapped_column(String(16), default="api")
    source_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Notification(Base):
    """One message for one subject to one channel or person: ``pending`` (to be sent),
    ``sending``, ``sent``, ``failed`` or ``suppressed``, with the reason."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_subject", "subject_kind", "subject_id"),
        Index("ix_notifications_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(200))
    #: A user name (messages to people); ``address`` is where it was sent.
    recipient: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(320))
    route: Mapped[str | None] = mapped_column(String(200))
    policy: Mapped[str | None] = mapped_column(String(200))
    step: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class EscalationState(Base):
    """An escalation under way for one subject: the next step, the pass, when it is due.
    Kept in the database so a restarted worker carries on where the last one stopped."""

    __tablename__ = "escalation_states"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(200))
    #: The subject as last given (title, severity, labels, url…), for the messages.
    subject: Mapped[dict[str, Any]]
    step: Mapped[int] = mapped_column(Integer, default=0)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    #: active, acknowledged, resolved, stopped or exhausted.
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    next_at: Mapped[datetime | None] = mapped_column(index=True)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
