"""Group commit for ingest: requests that arrive together are stored in one transaction.

Every ingest request costs a transaction, and on SQLite a commit waits for the disk (fsync,
with the default ``SQLITE_SYNCHRONOUS=FULL``) while nothing else can write. One thread takes
the requests waiting at that moment, prepares each (parse, match, render: no database),
stores them all in one transaction and answers each once it has committed. Under load this
costs one commit per group instead of one per request; alone, a request waits for nothing.

A request is answered 2xx only after the transaction holding it committed. If storing one of
them fails, the group is rolled back and each is retried in a transaction of its own, so one
bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.logging import get_logger

log = get_logger(__name__)
P = TypeVar("P")
R = TypeVar("R")


@dataclass
class _Job(Generic[P, R]):
    prepare: Callable[[], P]
    store: Callable[[Session, P], R]
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop
    prepared: Any = None


class GroupCommitter:
    """One thread that stores queued jobs, up to ``max_group`` per transaction."""

    def __init__(self, session_factory: sessionmaker[Session], *, max_group: int = 32) -> None:
        self._sessions = session_factory
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job[Any, Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, prepare: Callable[[], P], store: Callable[[Session, P], R]) -> R:
        """``prepare()`` (no database; may raise to refuse the request), then
        ``store(session, prepared)`` in a shared transaction; the result once committed."""
        loop = asyncio.get_running_loop()
        job: _Job[P, R] = _Job(prepare, store, loop.create_future(), loop)
        self._ensure_thread()
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="sophrosyne-ingest", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self._max_group:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(job)
            self._run(group)

    def _run(self, group: list[_Job[Any, Any]]) -> None:
        ready: list[_Job[Any, Any]] = []
        for job in group:
            try:
                job.prepared = job.prepare()
            except Exception as exc:  # noqa: BLE001 - refused (e.g. invalid payload): answer it alone
                _settle(job, error=exc)
                continue
            ready.append(job)
        if not ready:
            return
        try:
            with self._sessions.begin() as session:
                results = [job.store(session, job.prepared) for job in ready]
        except Exception as exc:  # noqa: BLE001 - handed to the request(s) it belongs to
            if len(ready) == 1:
                _settle(ready[0], error=exc)
                return
            log.warning("ingest.group_failed", size=len(ready))
            for job in ready:  # isolate the one that failed
                self._run_alone(job)
            return
        for job, result in zip(ready, results, strict=True):
            _settle(job, result=result)

    def _run_alone(self, job: _Job[Any, Any]) -> None:
        try:
            with self._sessions.begin() as session:
                result = job.store(session, job.prepared)
        except Exception as exc:  # noqa: BLE001 - handed to the request(s) it belongs to
            _settle(job, error=exc)
            return
        _settle(job, result=result)


def _settle(job: _Job[Any, Any], *, result: Any = None, error: BaseException | None = None) -> None:
    def apply() -> None:
        if job.future.done():  # the client went away and the request was cancelled
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    job.loop.call_soon_threadsafe(apply)
