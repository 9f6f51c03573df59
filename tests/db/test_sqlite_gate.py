"""The in-process writer queue for SQLite: writers take turns, and no failure keeps the turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.db.migrate import upgrade


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _bump(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.execute(text("UPDATE catalog_revision SET revision = revision + 1"))


def test_concurrent_writers_all_commit(sessions: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                _bump(sessions)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with sessions() as s:
        assert s.execute(text("SELECT revision FROM catalog_revision")).scalar_one() == 1 + 200


@pytest.mark.parametrize("how", ["exception", "explicit rollback", "closed session"])
def test_a_failed_transaction_hands_the_turn_on(sessions: sessionmaker[Session], how: str) -> None:
    if how == "exception":
        with pytest.raises(RuntimeError), sessions.begin() as s:
            s.execute(text("UPDATE catalog_revision SET revision = 99"))
            raise RuntimeError("boom")
    elif how == "explicit rollback":
        s = sessions()
        s.execute(text("UPDATE catalog_revision SET revision = 99"))
        s.rollback()
        s.close()
    else:
        s = sessions()
        s.execute(text("UPDATE catalog_revision SET revision = 99"))
        s.close()
    started = time.monotonic()
    done = threading.Event()
    t = threading.Thread(target=lambda: (_bump(sessions), done.set()))
    t.start()
    assert done.wait(5), "the next writer is still waiting: the turn was not handed on"
    assert time.monotonic() - started < 5
    with sessions() as s2:
        assert s2.execute(text("SELECT revision FROM catalog_revision")).scalar_one() == 2
