"""Build a worker from settings: engine, sessions, executors by action kind, metrics."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.db.listen import QueueListener
from sophrosyne.executors.base import Executor
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker


def default_executors() -> dict[str, Executor]:
    """Action kind → executor. Each kind added later registers here."""
    return {"shell": LocalExecutor()}


def build_worker(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    metrics: Metrics,
    *,
    executors: dict[str, Executor] | None = None,
) -> Worker:
    """A worker; on PostgreSQL it also LISTENs, so runs queued by other processes start at
    once instead of at the next poll."""
    worker = Worker(settings, session_factory, executors or default_executors(), metrics)
    if QueueListener.wanted(engine):
        worker.attach(QueueListener(engine, worker.wake))
    return worker


__all__ = ["build_worker", "default_executors"]
