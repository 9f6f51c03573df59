"""Silences: create, list, expire, and the compiled set cached with the rules.

Every change bumps the catalog revision, so ``RuleCache`` reloads the silences with the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.alerts.models import Alert, AlertDecision
from sophrosyne.domains.rules.matching import MatcherSyntaxError, parse_matcher, parse_matchers
from sophrosyne.domains.silences.active import CompiledSilence, SilenceIndex, state_of
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


def _held_back(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """Alert episodes each silence held back, from the decisions ingest recorded (one grouped
    query over the silences listed)."""
    if not ids:
        return {}
    names = {f"silence:{i}": i for i in ids}
    rows = session.execute(
        select(AlertDecision.rule_name, func.count())
        .where(AlertDecision.outcome == "silenced", AlertDecision.rule_name.in_(list(names)))
        .group_by(AlertDecision.rule_name)
    )
    return {names[name]: int(count) for name, count in rows}


def _firing_matched(session: Session, active: Sequence[Silence]) -> dict[int, int]:
    """Firing alerts each active silence matches. An alert already firing when the silence
    was made has no decision (ingest records one at a state change), yet it is silenced from
    then on: it counts here. The index keeps this to a few matcher checks per alert."""
    if not active:
        return {}
    compiled = [_compiled(s) for s in active]
    index = SilenceIndex(compiled)
    counts = dict.fromkeys((s.id for s in active), 0)
    labels_of = session.scalars(select(Alert.labels).where(Alert.status == "firing"))
    for labels in labels_of:
        for silence in index.matching(labels):
            counts[silence.id] += 1
    return counts


def to_outs(session: Session, found: Sequence[Silence], *, now: datetime) -> list[SilenceOut]:
    """Silences as listed: with what each held back, what it matches firing now, whether it
    matched nothing, and how long it has left."""
    held = _held_back(session, [s.id for s in found])
    active = [s for s in found if state_of(s.starts_at, s.ends_at, now) == "active"]
    firing = _firing_matched(session, active)
    out = []
    for silence in found:
        item = to_out(silence, now)
        item.held_back = held.get(silence.id, 0)
        item.firing_matched = firing.get(silence.id, 0)
        # A pending silence has had no chance yet; every other one is judged.
        item.matched_nothing = (
            item.state != "pending" and item.held_back == 0 and item.firing_matched == 0
        )
        if item.state != "expired":
            item.expires_in_seconds = (silence.ends_at - now).total_seconds()
        out.append(item)
    return out


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
    return [_compiled(s) for s in rows]


def _compiled(s: Silence) -> CompiledSilence:
    return CompiledSilence(
        id=s.id,
        matchers=parse_matchers(s.matchers),
        author=s.author,
        comment=s.comment,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        expire_on_resolve=s.expire_on_resolve,
    )
