"""Build a worker from settings: engine, sessions, executors by action kind, metrics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.config import Settings
from sophrosyne.crypto import Keyring
from sophrosyne.db.listen import QueueListener
from sophrosyne.domains.targets.keys import optional_keyring
from sophrosyne.executors.ansible import AnsibleExecutor
from sophrosyne.executors.http import HttpExecutor
from sophrosyne.executors.local import LocalExecutor
from sophrosyne.executors.notify import AppriseNotifier
from sophrosyne.executors.script import ScriptExecutor
from sophrosyne.executors.ssh import SshExecutor
from sophrosyne.flows.announce import acknowledged
from sophrosyne.metrics import Metrics
from sophrosyne.worker.loop import Worker
from sophrosyne.worker.notifications import NotificationPump


def default_executors(settings: Settings | None = None) -> dict[str, Any]:
    """Action kind → executor. ``ansible`` only with a config directory to find playbooks in."""
    local = LocalExecutor()
    ssh = SshExecutor()
    out: dict[str, Any] = {
        "shell": local,
        "ssh": ssh,
        "script": ScriptExecutor(local, ssh),
        "http": HttpExecutor(),
    }
    if settings is not None and settings.config_dir is not None:
        out["ansible"] = AnsibleExecutor(settings.config_dir)
    return out


def build_worker(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    metrics: Metrics,
    *,
    executors: dict[str, Any] | None = None,
    keyring: Keyring | None = None,
) -> Worker:
    """A worker; on PostgreSQL it also LISTENs, so runs queued by other processes start at
    once instead of at the next poll."""
    worker = Worker(
        settings,
        session_factory,
        executors or default_executors(settings),
        metrics,
        # A malformed key fails here, at start; no key at all only fails runs that need one.
        keyring=keyring if keyring is not None else optional_keyring(settings),
    )
    if QueueListener.wanted(engine):
        worker.attach(QueueListener(engine, worker.wake))
    worker.attach(
        NotificationPump(
            settings,
            session_factory,
            AppriseNotifier(),
            keyring=worker.keyring,
            clock=worker.clock,
            is_acknowledged=acknowledged(engine),
        )
    )
    return worker


__all__ = ["build_worker", "default_executors"]
