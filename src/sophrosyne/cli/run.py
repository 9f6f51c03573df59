"""``sophrosyne serve`` and ``sophrosyne worker``: the long-running processes."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer
import uvicorn
from prometheus_client import start_http_server
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.app import create_app
from sophrosyne.cli.common import fail, load_settings, open_db
from sophrosyne.cli.users import ensure_admin_at_start
from sophrosyne.config import Settings
from sophrosyne.db import migrate
from sophrosyne.logging import get_logger
from sophrosyne.metrics import Metrics
from sophrosyne.worker.build import build_worker

log = get_logger(__name__)


def _ensure_schema(engine: Engine, auto: bool) -> None:
    if migrate.is_up_to_date(engine):
        return
    if not auto:
        raise fail("the database schema is not at the newest revision; run 'sophrosyne db upgrade'")
    log.info("db.upgrading", revision=migrate.head_revision(engine))
    migrate.upgrade(engine)


def _auto_migrate(settings: Settings, engine: Engine, migrate_flag: bool | None) -> bool:
    # The embedded SQLite database upgrades itself; a shared PostgreSQL is upgraded on purpose
    # (several processes starting at once must not race to migrate it).
    return migrate_flag if migrate_flag is not None else engine.dialect.name == "sqlite"


def _load_config(settings: Settings, sessions: sessionmaker[Session]) -> None:
    if settings.config_dir is not None:
        from sophrosyne.cli.configcode import apply_at_start
        from sophrosyne.domains.targets.keys import optional_keyring

        apply_at_start(sessions, settings.config_dir, keyring=optional_keyring(settings))


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (SOPHROSYNE_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (SOPHROSYNE_PORT)."),
    config_dir: Path | None = typer.Option(
        None, "--config-dir", help="YAML config-as-code directory applied at start."
    ),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="Run a worker in-process."),
    migrate_db: bool | None = typer.Option(
        None, "--migrate/--no-migrate", help="Upgrade the schema at start (default: SQLite only)."
    ),
) -> None:
    """Serve the API (and, by default, a worker) in one process."""
    settings = load_settings(host=host, port=port, config_dir=config_dir)
    engine, sessions = open_db(settings)
    _ensure_schema(engine, _auto_migrate(settings, engine, migrate_db))
    _load_config(settings, sessions)
    ensure_admin_at_start(settings, sessions)
    metrics = Metrics()
    runner = build_worker(settings, engine, sessions, metrics) if worker else None
    app = create_app(
        settings, engine=engine, metrics=metrics, on_enqueue=runner.wake if runner else None
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    )
    if runner:
        runner.start()
    log.info("serve.listening", host=settings.host, port=settings.port, worker=bool(runner))
    try:
        server.run()
    finally:
        if runner:
            runner.stop()
        engine.dispose()


def worker_command(
    slots: int | None = typer.Option(None, min=1, help="Runs at once (SOPHROSYNE_WORKER_SLOTS)."),
    metrics_port: int | None = typer.Option(
        None, help="Expose this worker's Prometheus metrics on this port."
    ),
) -> None:
    """Run a worker process: claim queued runs from the database and execute them."""
    settings = load_settings(worker_slots=slots)
    engine, sessions = open_db(settings)
    _ensure_schema(engine, auto=False)
    metrics = Metrics()
    if metrics_port:
        start_http_server(metrics_port, addr=settings.host, registry=metrics.registry)
    runner = build_worker(settings, engine, sessions, metrics)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker.signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    runner.start()
    stop.wait()
    runner.stop()
    engine.dispose()
