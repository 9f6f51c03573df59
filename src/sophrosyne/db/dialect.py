"""SQL that differs between SQLite and PostgreSQL: run claims with target locks, and readiness
(bulk inserts are in ``bulk``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Table,
    Update,
    any_,
    bindparam,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from sophrosyne.db.bulk import insert_rows

#: First key of the PostgreSQL advisory locks taken on targets while claiming ("sphr").
_ADVISORY_NAMESPACE = 0x73706872
#: Candidates a claim tries before giving up until the next poll; each miss is a race with
#: another worker claiming a run on the same target at the same moment, so this is plenty.
_CLAIM_ATTEMPTS = 8


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim_next_queued(
    session: Session,
    runs: Table,
    *,
    locks: Table,
    automation: Table,
    worker_id: str,
    now: datetime,
    held: Sequence[str] = (),
    skip: Sequence[int] = (),
) -> int | None:
    """Atomically move the oldest claimable queued run to ``running`` for ``worker_id``; its
    id, or None when nothing can start now.

    Claimable: not an automatic run while the kill switch (``automation``) is on, nor an
    automatic run on one of the ``held`` targets (in a maintenance window), nor one of
    ``skip``, and, for a
    run that takes its targets exclusively, none of its targets held in ``locks`` by a running
    run. Such a run stays queued and the next one is claimed instead. The claim takes its
    targets' locks in the same transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent workers never block or double-claim,
    and non-blocking advisory locks on the targets while claiming, so two workers claiming runs
    on one target at the same moment never wait for (or deadlock on) each other: the loser
    tries its next candidate. SQLite: writers are serialised (BEGIN IMMEDIATE), so the checks
    and the ``UPDATE … RETURNING`` cannot race.
    """
    pg = _postgresql(session)
    tried: list[int] = list(skip)  # ``skip``: never these (held runs)
    for _ in range(_CLAIM_ATTEMPTS):
        stmt = _claim_statement(
            runs, locks, automation, pg=pg, retry=bool(tried), holding=bool(held)
        )
        params: dict[str, Any] = {"worker_id": worker_id, "now": now}
        if held:
            params["held"] = sorted(held)
        if tried:
            params["tried"] = tried
        row = session.execute(stmt, params).one_or_none()
        if row is None:
            return None
        run_id, targets, concurrency = row
        wanted = sorted({str(t) for t in targets or ()})
        if not wanted or concurrency == 0 or _lock_targets(session, locks, run_id, wanted, now):
            return int(run_id)
        # Another worker took one of its targets a moment ago: put it back, try the next.
        session.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(state="queued", worker_id=None, started_at=None, heartbeat_at=None)
        )
        tried.append(run_id)
    return None


@lru_cache(maxsize=16)
def _claim_statement(
    runs: Table, locks: Table, automation: Table, *, pg: bool, retry: bool, holding: bool = False
) -> Update:
    """The claim's UPDATE, built once: building it (an alias, correlated subqueries) cost
    more than running it. Parameters: ``worker_id``, ``now``, on a retry ``tried``, and
    when ``holding`` the ``held`` target names."""
    candidate = runs.alias("candidate")
    if pg:
        names = select(func.jsonb_array_elements_text(candidate.c.targets))
    else:
        names = select(literal_column("value")).select_from(func.json_each(candidate.c.targets))
    # The candidate's own targets: correlated to the candidate two levels up.
    busy = exists().where(locks.c.target.in_(names.correlate(candidate).scalar_subquery()))
    paused = select(automation.c.paused).where(automation.c.id == 1).scalar_subquery()
    pick = select(candidate.c.id).where(
        candidate.c.state == "queued",
        or_(not_(candidate.c.automatic), not_(func.coalesce(paused, false()))),
        or_(candidate.c.target_concurrency == 0, not_(busy)),
    )
    if retry:
        pick = pick.where(candidate.c.id.not_in(bindparam("tried", expanding=True)))
    if holding:
        each = (
            func.jsonb_array_elements_text(candidate.c.targets)
            if pg
            else func.json_each(candidate.c.targets)
        ).table_valued("value")
        on_held = exists(
            select(each.c.value).where(each.c.value.in_(bindparam("held", expanding=True)))
        )
        pick = pick.where(or_(not_(candidate.c.automatic), not_(on_held)))
    pick = pick.order_by(candidate.c.id).limit(1)
    if pg:
        pick = pick.with_for_update(skip_locked=True, of=candidate)
    now = bindparam("now", type_=runs.c.started_at.type)
    return (
        update(runs)
        .where(runs.c.id == pick.scalar_subquery())
        .where(runs.c.state == "queued")
        .values(state="running", worker_id=bindparam("worker_id"), started_at=now, heartbeat_at=now)
        .returning(runs.c.id, runs.c.targets, runs.c.target_concurrency)
    )


def _lock_targets(
    session: Session, locks: Table, run_id: int, names: list[str], now: datetime
) -> bool:
    """Take every target in ``names`` for ``run_id``, or none of them (False)."""
    if _postgresql(session):
        # Non-blocking: a target another transaction is locking right now counts as busy,
        # instead of this INSERT waiting for that transaction to end.
        got = session.execute(
            text(
                "SELECT bool_and(pg_try_advisory_xact_lock(:ns, hashtext(t))) "
                "FROM unnest(CAST(:names AS text[])) AS t"
            ),
            {"ns": _ADVISORY_NAMESPACE, "names": names},
        ).scalar_one()
        if not got:
            return False
    taken = insert_rows(
        session,
        locks,
        [{"target": n, "run_id": run_id, "acquired_at": now} for n in names],
        returning=("target",),
        ignore_conflicts_on=("target",),
    )
    if len(taken) == len(names):
        return True
    session.execute(delete(locks).where(locks.c.run_id == run_id))
    return False


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)`` the way each dialect plans best.

    PostgreSQL gets ``= ANY(array)``: one bound parameter, so the statement text and its plan
    are the same for every batch size. SQLite gets a plain IN list.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


def database_ready(session: Session) -> None:
    """Raise if the database does not answer a trivial query."""
    session.execute(text("SELECT 1")).scalar_one()
