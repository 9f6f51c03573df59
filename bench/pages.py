"""Server-side render time of every web page with 10,000 alerts and 10,000 runs stored.

The pages are found from the application's routes (``sophrosyne.web.sitemap``): a page added
later is measured without being listed here, and one whose path parameter cannot be filled
from the seeded database is reported by name (and makes the benchmark exit 1). For each
backend: a fresh database seeded in bulk (``pagedata``), ``sophrosyne serve`` on a free
loopback port, a login through the form, then every page requested ``warmup`` times and
``samples`` times more, one request at a time. Two times per request: the application's own
``Server-Timing: app;dur=`` (what the 200 ms target is about) and the time the client saw.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

import checks
import harness
import pagecatalog
import pagedata
import servers
from sophrosyne.app import create_app
from sophrosyne.config import Settings
from sophrosyne.domains.runs.models import Run, RunOutput
from sophrosyne.web import sitemap

TARGET_MS = 200.0
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


@dataclass
class PageTimes:
    """One page's samples on one backend (ms), or why it could not be measured."""

    backend: str
    path: str
    url: str
    app_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    problem: str = ""

    @property
    def p95(self) -> float:
        return percentile(self.app_ms, 95)

    @property
    def over(self) -> bool:
        return bool(self.problem) or not self.p95 < TARGET_MS

    def as_dict(self) -> dict[str, Any]:
        def stats(v: list[float]) -> dict[str, float]:
            return {
                "p50": round(percentile(v, 50), 2),
                "p95": round(percentile(v, 95), 2),
                "max": round(max(v), 2) if v else math.nan,
            }

        return {
            "backend": self.backend,
            "path": self.path,
            "url": self.url,
            "samples": len(self.app_ms),
            "app_ms": stats(self.app_ms),
            "client_ms": stats(self.client_ms),
            "statuses": sorted(self.statuses),
            "under_target": not self.over,
            "problem": self.problem,
        }


def discovered() -> list[sitemap.SitePage]:
    """The pages of the application as ``serve`` builds it (nothing is opened to list them)."""
    app = create_app(Settings(database_url="sqlite://", data_dir=Path("/nonexistent")))
    return sitemap.pages(app)


def _urls(db: harness.Database, pages: list[sitemap.SitePage]) -> list[tuple[str, str, str]]:
    """(path, url, problem) per page; run pages get a run with output, as people open most."""
    with db.engine.connect() as conn:
        with_output = conn.execute(select(RunOutput.run_id).limit(1)).scalar()
        succeeded = conn.execute(
            select(Run.id).where(Run.state == "succeeded").order_by(Run.id.desc()).limit(1)
        ).scalar()
        prefer = {"runs.run_id": succeeded or with_output}
        out = []
        for page in pages:
            try:
                out.append((page.path, page.url(sitemap.resolve(conn, page, prefer=prefer)), ""))
            except sitemap.Unresolvable as exc:
                out.append((page.path, page.path, str(exc)))
    return out


def _login(client: httpx.Client, password: str) -> None:
    reply = client.post(
        "/login", data={"username": pagecatalog.ADMIN, "password": password, "next": "/"}
    )
    if reply.status_code != 303 or "sophrosyne_session" not in client.cookies:
        raise servers.BenchError(f"login failed: {reply.status_code} {reply.text[:300]}")


def _one(client: httpx.Client, url: str) -> tuple[int, float, float]:
    t0 = time.perf_counter()
    reply = client.get(url)
    took = (time.perf_counter() - t0) * 1000
    found = _TIMING.search(reply.headers.get("server-timing", ""))
    if not found:
        raise servers.BenchError(f"{url}: no Server-Timing header in the reply")
    return reply.status_code, float(found.group(1)), took


def measure(
    backend: str,
    workdir: Path,
    *,
    size: pagedata.Size,
    warmup: int,
    samples: int,
    match: str = "",
) -> tuple[list[PageTimes], dict[str, Any]]:
    """Seed, serve, log in, time every page (whose path matches ``match``); returns the times
    and the seeding figures."""
    password = secrets.token_urlsafe(18)
    pages = [p for p in discovered() if re.search(match, p.path)]
    with harness.database(backend, workdir, "pages") as db:
        t0 = time.perf_counter()
        counts = pagedata.seed(db.sessions, size, password)
        seeded_s = time.perf_counter() - t0
        checks.analyze(db.engine)  # PostgreSQL: statistics, as autovacuum would gather
        print(
            f"  [{backend}] seeded in {seeded_s:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            flush=True,
        )
        urls = _urls(db, pages)
        config_dir = workdir / "config"
        config_dir.mkdir(exist_ok=True)
        # ``serve`` wants a config directory; the catalog is in the database already.
        (config_dir / "none.yaml").write_text("actions: []\n")
        env = servers.sophrosyne_env(db.url, db.data_dir)
        log = workdir / "sophrosyne.log"
        out: list[PageTimes] = []
        with (
            servers.sophrosyne_server(env, config_dir, log, worker=False) as base,
            httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client,
        ):
            _login(client, password)
            for path, url, problem in urls:
                times = PageTimes(backend, path, url, problem=problem)
                out.append(times)
                if problem:
                    continue
                for _ in range(warmup):
                    _one(client, url)
                for _ in range(samples):
                    status, app_ms, client_ms = _one(client, url)
                    times.statuses.add(status)
                    times.app_ms.append(app_ms)
                    times.client_ms.append(client_ms)
                if times.statuses != {200}:
                    times.problem = f"answered {sorted(times.statuses)}"
    info = {"backend": backend, "seed_seconds": round(seeded_s, 1), "rows": counts}
    return out, info


def table(results: list[PageTimes]) -> str:
    """One row per backend and page; rows over the target are marked."""
    headers = ["backend", "page", "app p50", "app p95", "app max", "client p50", "client p95",
               "client max", "p95<200ms"]  # fmt: skip
    rows = []
    for r in results:
        if r.problem and not r.app_ms:
            rows.append([r.backend, r.path, "-", "-", "-", "-", "-", "-", "NOT MEASURED"])
            continue
        rows.append(
            [
                r.backend,
                r.url,
                f"{percentile(r.app_ms, 50):.1f}",
                f"{r.p95:.1f}",
                f"{max(r.app_ms):.1f}",
                f"{percentile(r.client_ms, 50):.1f}",
                f"{percentile(r.client_ms, 95):.1f}",
                f"{max(r.client_ms):.1f}",
                "OVER TARGET" if r.over else "yes",
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    problems = [f"  {r.backend} {r.path}: {r.problem}" for r in results if r.problem]
    if problems:
        lines += ["", "Pages with a problem:", *problems]
    return "\n".join(lines)
