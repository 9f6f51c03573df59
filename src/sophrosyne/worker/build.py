"""Build a worker from settings: engine, sessions, executors by action kind, metrics."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.executors.base import Executor
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker


def default_executors() -> dict[str, Executor]:
    """Action kind → executor. Each kind added later registers here."""
    return {"shell": LocalExecutor()}


def build_worker(
    settings: Settings,
    session_factory: sessionmaker[Session],
    metrics: Metrics,
    *,
    executors: dict[str, Executor] | None = None,
) -> Worker:
    return Worker(settings, session_factory, executors or default_executors(), metrics)


__all__ = ["build_worker", "default_executors"]
