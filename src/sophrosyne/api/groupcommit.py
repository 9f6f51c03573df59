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


#: Stores the prepared values of several requests in one transaction, one result each.
StoreMany = Callable[[Session, list[P]], list[R]]


@dataclass
class _Job(Generic[P, R]):
    prepare: Callable[[], P]
    store: StoreMany[P, R]
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop
    prepared: Any = None


class GroupCommitter:
    """``threads`` threads that store queued jobs, up to ``max_group`` per transaction.

    One thread suits SQLite (one writer; more threads only contend for it and the GIL);
    PostgreSQL works on several transactions at once, so a few threads keep it busy.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], *, threads: int = 1, max_group: int = 32
    ) -> None:
        self._sessions = session_factory
        self._threads_wanted = threads
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job[Any, Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    async def submit(self, prepare: Callable[[], P], store: StoreMany[P, R]) -> R:
        """``prepare()`` (no database; may raise to refuse the request), then ``store`` with
        the prepared values of every request in the group that uses the same ``store``, in
        one transaction; this request's result once that committed."""
        loop = asyncio.get_running_loop()
        job: _Job[P, R] = _Job(prepare, store, loop.create_future(), loop)
        self._ensure_thread()
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(10)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            while len(self._threads) < self._threads_wanted:
                thread = threading.Thread(
                    target=self._loop, name=f"sophrosyne-ingest-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

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
                    self._queue.put(None)  # stop after this group (this or another thread)
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
        by_store: dict[StoreMany[Any, Any], list[_Job[Any, Any]]] = {}
        for job in ready:
            by_store.setdefault(job.store, []).append(job)
        try:
            with self._sessions.begin() as session:
                results: list[tuple[_Job[Any, Any], Any]] = []
                for store, jobs in by_store.items():
                    stored = store(session, [job.prepared for job in jobs])
                    results.extend(zip(jobs, stored, strict=True))
        except Exception as exc:  # noqa: BLE001 - handed to the request(s) it belongs to
            if len(ready) == 1:
                _settle(ready[0], error=exc)
                return
            log.warning("ingest.group_failed", size=len(ready))
            for job in ready:  # isolate the one that failed
                self._run_alone(job)
            return
        for job, result in results:
            _settle(job, result=result)

    def _run_alone(self, job: _Job[Any, Any]) -> None:
        try:
            with self._sessions.begin() as session:
                (result,) = job.store(session, [job.prepared])
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
