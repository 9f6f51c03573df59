"""One Sophrosyne under test: a fresh database, the generated config, a token, the server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import checks
import servers
import workload
from sophrosyne.db.engine import make_engine

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Stack:
    """A running server: where it listens, an ingest token, and its database."""

    backend: str
    url: str
    token: str
    engine: Engine
    log: Path


@contextmanager
def database(backend: str, workdir: Path, tag: str) -> Iterator[str]:
    """A fresh, empty database for one scenario; dropped afterwards on PostgreSQL (the SQLite
    file lives in ``workdir``, which the caller removes)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'data' / 'sophrosyne.db'}"
    elif backend == "postgresql":
        with servers.postgres_database(f"sophrosyne_bench_{os.getpid()}_{tag}") as url:
            yield url
    else:
        raise servers.BenchError(f"unknown backend {backend!r}; choose from {BACKENDS}")


@contextmanager
def sophrosyne(
    backend: str,
    workdir: Path,
    *,
    tag: str,
    action: dict[str, Any],
    worker: bool,
    extra_env: dict[str, str] | None = None,
    noise: bool = False,
) -> Iterator[Stack]:
    """Migrate a fresh database, create an ingest token and start ``sophrosyne serve`` with
    ``workload.RULES`` rules for ``action`` (and with ``noise``, the grouping, inhibition
    rules and silences of ``workload``); everything is undone on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_dir = workload.write_config(workdir / "config", action, noise=noise).parent
    with ExitStack() as stack:
        db_url = stack.enter_context(database(backend, workdir, tag))
        env = servers.sophrosyne_env(db_url, workdir / "data", **(extra_env or {}))
        servers.cli(["db", "upgrade"], env)
        token = servers.cli(["token", "create", "bench", "--scope", "ingest"], env).strip()
        log = workdir / "sophrosyne.log"
        base = stack.enter_context(servers.sophrosyne_server(env, config_dir, log, worker=worker))
        engine = make_engine(db_url)
        stack.callback(engine.dispose)
        loaded = checks.rules_loaded(engine)
        if loaded != workload.RULES:
            raise servers.BenchError(
                f"{loaded} rules enabled after serve --config-dir, expected {workload.RULES}"
            )
        if noise:
            checks.add_silences(engine, workload.noise_silences(datetime.now(UTC)))
            found = checks.noise_loaded(engine)
            wanted = (workload.NOISE_SILENCES, workload.NOISE_INHIBIT_RULES, 1)
            if found != wanted:
                raise servers.BenchError(
                    f"(silences, inhibit rules, grouping rules) = {found}, expected {wanted}"
                )
        yield Stack(backend=backend, url=base, token=token, engine=engine, log=log)
