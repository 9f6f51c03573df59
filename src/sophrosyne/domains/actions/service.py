"""The action catalog: create, update, delete and look up actions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sophrosyne.domains.actions.models import Action, CatalogRevision
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.errors import Conflict, NotFound, ReadOnly


def get_by_name(session: Session, name: str) -> Action:
    action = session.scalar(select(Action).where(Action.name == name))
    if action is None:
        raise NotFound("action", name)
    return action


def find_by_name(session: Session, name: str) -> Action | None:
    return session.scalar(select(Action).where(Action.name == name))


def list_all(session: Session) -> list[Action]:
    return list(session.scalars(select(Action).order_by(Action.name)))


def to_spec(action: Action) -> ActionSpec:
    return ActionSpec.model_validate(
        {
            "name": action.name,
            "kind": action.kind,
            "description": action.description,
            "argv": action.argv,
            "parameters": action.parameters,
            "timeout_seconds": action.timeout_seconds,
            "risk": action.risk,
            "idempotent": action.idempotent,
            **action.spec,
        }
    )


def _assign(action: Action, spec: ActionSpec, now: datetime) -> None:
    action.kind = spec.kind
    action.description = spec.description
    action.argv = list(spec.argv)
    action.parameters = [p.model_dump(exclude_none=True) for p in spec.parameters]
    action.timeout_seconds = spec.timeout_seconds
    action.risk = spec.risk
    action.idempotent = spec.idempotent
    action.spec = spec.section()
    action.updated_at = now


def create(
    session: Session,
    spec: ActionSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Action:
    if find_by_name(session, spec.name) is not None:
        raise Conflict(f"an action named {spec.name!r} already exists")
    action = Action(name=spec.name, managed_by=managed_by, source_file=source_file, created_at=now)
    _assign(action, spec, now)
    session.add(action)
    session.flush()
    bump_revision(session)
    return action


def update(
    session: Session,
    name: str,
    spec: ActionSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Action:
    action = get_by_name(session, name)
    ReadOnly.unless_owner("action", name, action.managed_by, managed_by)
    if spec.name != name:
        raise Conflict("an action cannot be renamed; create a new one")
    action.source_file = source_file
    _assign(action, spec, now)
    session.flush()
    bump_revision(session)
    return action


def delete(session: Session, name: str, *, managed_by: str = "api") -> Action:
    action = get_by_name(session, name)
    ReadOnly.unless_owner("action", name, action.managed_by, managed_by)
    # Rules refer to actions with ON DELETE RESTRICT; say so instead of a database error.
    from sophrosyne.domains.rules.models import Rule

    users = session.scalars(select(Rule.name).where(Rule.action_id == action.id)).all()
    if users:
        raise Conflict(f"action {name!r} is used by rules {sorted(users)}")
    session.delete(action)
    session.flush()
    bump_revision(session)
    return action


def lock(session: Session, action_ids: Iterable[int]) -> None:
    """Lock these actions' rows until commit, in id order (see ``rules.service.lock``)."""
    ids = sorted(set(action_ids))
    if ids:
        session.execute(
            select(Action.id).where(Action.id.in_(ids)).order_by(Action.id).with_for_update()
        )


def bump_revision(session: Session) -> None:
    """Record that the catalog changed (in the caller's transaction, with the change)."""
    session.execute(sql_update(CatalogRevision).values(revision=CatalogRevision.revision + 1))


def catalog_revision(session: Session) -> int:
    """Goes up whenever an action or rule is added, removed or edited."""
    return int(session.scalar(select(CatalogRevision.revision)) or 0)
