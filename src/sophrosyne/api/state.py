"""What every route needs from the composition root, kept on ``app.state.sophrosyne``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anyio import CapacityLimiter, to_thread
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.api.authcache import TokenCache
from sophrosyne.config import Settings
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.alerts.schemas import IngestReply
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.logging import get_logger
from sophrosyne.metrics import Metrics

log = get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    """Settings, database, caches and hooks shared by the routes of one application."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    rules: RuleCache
    tokens: TokenCache
    metrics: Metrics
    on_enqueue: Callable[[list[int]], None] | None = None
    #: Set once /readyz saw the schema at head; a schema never goes back down at run time.
    schema_ready: bool = field(default=False)
    #: Bounds the threads that ingest alerts at once (see ``run_ingest``); made on first use,
    #: inside the event loop, as anyio requires.
    _ingest_limiter: CapacityLimiter | None = field(default=None, repr=False)

    def ingest_threads(self) -> int:
        """``settings.ingest_threads``, or by default 1 on SQLite (one writer) and 4 on
        PostgreSQL (whose server works on several requests while Python waits)."""
        if self.settings.ingest_threads:
            return self.settings.ingest_threads
        return 1 if self.engine.dialect.name == "sqlite" else 4

    async def run_ingest(
        self, fn: Callable[[AppState, Principal, bytes], IngestReply], *args: Any
    ) -> IngestReply:
        """Run an ingest request in one of ``ingest_threads`` threads.

        Ingest is CPU work under one GIL and, on SQLite, writes through one writer: a few
        threads do more of it than many, which mostly take the GIL and the writer from each
        other (measured in docs/performance.md). Other requests keep their own thread pool.
        """
        if self._ingest_limiter is None:
            self._ingest_limiter = CapacityLimiter(self.ingest_threads())
        return await to_thread.run_sync(fn, *args, limiter=self._ingest_limiter)

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in a transaction that commits when the block ends without error."""
        return self.session_factory.begin()

    def reading(self) -> AbstractContextManager[Session]:
        """A read-only transaction: on SQLite it does not take the write lock, so reads never
        hold up ingest (WAL readers see a consistent snapshot)."""
        return self.read_session_factory.begin()

    def enqueued(self, run_ids: Sequence[int]) -> None:
        """Tell the in-process worker about new queued runs; call only after commit.

        A failing hook must not turn a committed request into an error: the runs are stored and
        every worker polls the queue anyway.
        """
        if not run_ids or self.on_enqueue is None:
            return
        try:
            self.on_enqueue(list(run_ids))
        except Exception:  # the hook is best effort; the queue is the truth
            log.exception("on_enqueue.failed", run_ids=list(run_ids))
