"""Group commit: several requests in one transaction, each answered only after it committed,
and one bad request never failing the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.api.groupcommit import GroupCommitter
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.db.migrate import upgrade


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)")
    yield make_session_factory(engine)
    engine.dispose()


def _store(session: Session, values: list[int]) -> list[int]:
    for value in values:
        session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": value})
    return values


def _insert(n: int) -> tuple[Callable[[], int], Callable[[Session, list[int]], list[int]]]:
    return (lambda: n), _store


def _stored(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as s:
        return [r[0] for r in s.execute(text("SELECT n FROM t ORDER BY n"))]


def test_concurrent_requests_share_transactions_and_all_land(
    sessions: sessionmaker[Session],
) -> None:
    committer = GroupCommitter(sessions)
    commits: list[int] = []

    @event.listens_for(sessions.kw["bind"], "commit")
    def _count(_conn: object) -> None:
        commits.append(1)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(committer.submit(*_insert(i)) for i in range(200))))

    try:
        results = asyncio.run(main())
    finally:
        committer.close()
    assert results == list(range(200))
    assert _stored(sessions) == list(range(200))
    assert len(commits) < 200  # they were grouped


def test_a_failing_request_fails_alone(sessions: sessionmaker[Session]) -> None:
    committer = GroupCommitter(sessions)

    def refuse() -> int:
        raise ValueError("invalid payload")

    async def main() -> list[object]:
        jobs = [committer.submit(*_insert(i)) for i in range(10)]
        jobs.append(committer.submit(*_insert(3)))  # violates UNIQUE inside the group
        jobs.append(committer.submit(refuse, _insert(99)[1]))
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    try:
        results = asyncio.run(main())
    finally:
        committer.close()
    assert results[:10] == list(range(10))
    assert "UNIQUE" in str(results[10]) or "unique" in str(results[10]).lower()
    assert isinstance(results[11], ValueError)
    assert _stored(sessions) == list(range(10))


def test_answer_comes_only_after_commit(sessions: sessionmaker[Session]) -> None:
    committer = GroupCommitter(sessions)
    seen_by_other_connection: list[list[int]] = []

    def store(session: Session, values: list[int]) -> list[int]:
        _store(session, values)
        # Not yet committed: another connection cannot see it.
        seen_by_other_connection.append(_stored_elsewhere(sessions))
        return values

    async def main() -> int:
        value = await committer.submit(lambda: 7, store)
        assert _stored(sessions) == [7]
        return value

    try:
        assert asyncio.run(main()) == 7
    finally:
        committer.close()
    assert seen_by_other_connection == [[]]


def _stored_elsewhere(sessions: sessionmaker[Session]) -> list[int]:
    out: list[int] = []

    def read() -> None:
        reader = make_session_factory(sessions.kw["bind"], readonly=True)
        with reader() as s:
            out.extend(r[0] for r in s.execute(text("SELECT n FROM t")))

    t = threading.Thread(target=read)
    t.start()
    t.join(10)
    return out
