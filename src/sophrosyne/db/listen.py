"""Wake-ups for workers in other processes: PostgreSQL LISTEN/NOTIFY on the run queue.

The runs table stays the only queue; a notification only says "look now" so a worker on
another machine starts a new run in milliseconds instead of at its next poll. Lost
notifications cost nothing but latency: workers still poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sophrosyne.logging import get_logger

CHANNEL = "sophrosyne_runs"
log = get_logger(__name__)


def notify_queued(session: Session) -> None:
    """Announce queued runs; on PostgreSQL delivered at commit, elsewhere nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class QueueListener:
    """A thread holding one PostgreSQL connection that LISTENs and calls ``on_notify``."""

    def __init__(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        url = make_url(engine.url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sophrosyne-listen", daemon=True)

    @staticmethod
    def wanted(engine: Engine) -> bool:
        return engine.dialect.name == "postgresql"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 1.0
                    while not self._stop.is_set():
                        # A timeout lets the thread notice stop() between notifications.
                        for _ in conn.notifies(timeout=1.0):
                            self._on_notify()
            except psycopg.Error as exc:
                log.warning("listen.reconnecting", error=str(exc), in_seconds=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
