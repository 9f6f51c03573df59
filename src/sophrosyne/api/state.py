"""What every route needs from the composition root, kept on ``app.state.sophrosyne``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.api.authcache import TokenCache
from sophrosyne.api.groupcommit import GroupCommitter
from sophrosyne.api.memo import Memo
from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring
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
    #: Stores ingest requests, several per transaction when they arrive together.
    committer: GroupCommitter
    on_enqueue: Callable[[list[int]], None] | None = None
    #: Encrypts target credentials; None when no key is configured (secrets cannot be set).
    keyring: Keyring | None = None
    #: Set once /readyz saw the schema at head; a schema never goes back down at run time.
    schema_ready: bool = field(default=False)
    #: Sends notifications (``executors.notify``); None: the apprise one, built on first use.
    notifier: Any = None
    #: The time as authentication sees it (sessions, token expiry); tests replace it.
    clock: Callable[[], datetime] = field(default=utcnow)
    #: Costly reports kept while the data they read is unchanged (``api.memo``).
    memo: Memo = field(default_factory=Memo)

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
        if not run_ids:
            return
        self.wake(run_ids)

    def wake(self, run_ids: Sequence[int] = ()) -> None:
        """Tell the in-process worker to look at the queue now (e.g. after automation was
        resumed); call only after commit. Best effort, like ``enqueued``."""
        if self.on_enqueue is None:
            return
        try:
            self.on_enqueue(list(run_ids))
        except Exception:  # the hook is best effort; the queue is the truth
            log.exception("on_enqueue.failed", run_ids=list(run_ids))
