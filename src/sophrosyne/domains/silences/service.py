"""Silences: create, list, expire, and the compiled set cached with the rules.

Every change bumps the catalog revision, so ``RuleCache`` reloads the silences with the rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matcher, parse_matchers
from sophrosyne.domains.silences.active import CompiledSilence, state_of
from sophrosyne.domains.silences.models import Silence
from sophrosyne.domains.silences.schemas import SilenceOut, SilenceSpec, SilenceState
from sophrosyne.errors import Conflict, FieldError, NotFound, ValidationFailed


def _check(spec: SilenceSpec, starts_at: datetime) -> None:
    problems: list[FieldError] = []
    for i, text in enumerate(spec.matchers):
        try:
            parse_matcher(text)
        except MatcherSyntaxError as exc:
            problems.append(FieldError(("matchers", i), str(exc)))
    if spec.ends_at <= starts_at:
        problems.append(FieldError(("ends_at",), "must be after starts_at"))
    if not spec.comment.strip():
        problems.append(FieldError(("comment",), "a silence needs a comment saying why"))
    if problems:
        raise ValidationFailed(problems)


def create(session: Session, spec: SilenceSpec, *, by: str, now: datetime) -> Silence:
    starts_at = spec.starts_at or now
    _check(spec, starts_at)
    silence = Silence(
        matchers=list(spec.matchers),
        author=spec.author or by,
        comment=spec.comment.strip(),
        starts_at=starts_at,
        ends_at=spec.ends_at,
        expire_on_resolve=spec.expire_on_resolve,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    session.add(silence)
    session.flush()
    actions.bump_revision(session)
    return silence


def get(session: Session, silence_id: int) -> Silence:
    silence = session.get(Silence, silence_id)
    if silence is None:
        raise NotFound("silence", silence_id)
    return silence


def list_all(
    session: Session, *, now: datetime, state: SilenceState | None = None
) -> list[Silence]:
    query = select(Silence).order_by(Silence.id.desc())
    if state == "expired":
        query = query.where(Silence.ends_at <= now)
    elif state == "active":
        query = query.where(Silence.starts_at <= now, Silence.ends_at > now)
    elif state == "pending":
        query = query.where(Silence.starts_at > now, Silence.ends_at > now)
    return list(session.scalars(query))


def expire(session: Session, silence_id: int, *, now: datetime) -> Silence:
    """End a silence now (a pending one is expired before it starts)."""
    silence = get(session, silence_id)
    if silence.ends_at <= now:
        raise Conflict(f"silence {silence_id} has already expired")
    silence.ends_at = now
    silence.starts_at = min(silence.starts_at, now)
    silence.updated_at = now
    session.flush()
    actions.bump_revision(session)
    return silence


def to_out(silence: Silence, now: datetime) -> SilenceOut:
    return SilenceOut(
        id=silence.id,
        matchers=list(silence.matchers),
        author=silence.author,
        comment=silence.comment,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        expire_on_resolve=silence.expire_on_resolve,
        state=state_of(silence.starts_at, silence.ends_at, now),
        created_by=silence.created_by,
        created_at=silence.created_at,
        updated_at=silence.updated_at,
    )


def compile_unexpired(session: Session, *, now: datetime) -> list[CompiledSilence]:
    """Silences active or pending at ``now``, compiled, for the ingest path's cache."""
    rows = session.scalars(select(Silence).where(Silence.ends_at > now).order_by(Silence.id))
    return [
        CompiledSilence(
            id=s.id,
            matchers=parse_matchers(s.matchers),
            author=s.author,
            comment=s.comment,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            expire_on_resolve=s.expire_on_resolve,
        )
        for s in rows
    ]
