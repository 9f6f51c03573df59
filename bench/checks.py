"""Read the database behind the server: what it stored, and when runs started.

The database is the source of truth for what was persisted. Each measurement notes the highest
alert id before it starts; everything above that id belongs to it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text

from servers import BenchError
from sophrosyne.db.engine import make_session_factory
from sophrosyne.domains.alerts.models import Alert
from sophrosyne.domains.incidents.models import IncidentAlert, IncidentRule
from sophrosyne.domains.inhibitions.models import InhibitRule
from sophrosyne.domains.rules.models import Rule
from sophrosyne.domains.runs.models import Run
from sophrosyne.domains.runs.states import TERMINAL
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.models import Silence
from sophrosyne.domains.silences.schemas import SilenceSpec


@dataclass
class Stored:
    """Rows a measurement left: alerts above an id, and the runs they enqueued."""

    alerts: int
    #: Alerts stored by an insert and never touched again (occurrence count 1).
    inserted: int
    runs: int
    #: Distinct alerts that have at least one run.
    matched: int
    queued: int
    #: Distinct alerts linked to an incident (every firing alert joins one).
    linked: int = 0


def max_alert_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(Alert.id), 0))).scalar_one())


def analyze(engine: Engine) -> None:
    """PostgreSQL: refresh planner statistics, as autovacuum would within a minute on a live
    system. Tables start empty here, and a plan cached while they were (a sequential scan)
    would otherwise persist through a ten-second measurement."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def rules_loaded(engine: Engine) -> int:
    """Enabled rules in the database (what ``--config-dir`` applied)."""
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(Rule).where(Rule.enabled.is_(True))
        return int(conn.execute(stmt).scalar_one())


def add_silences(engine: Engine, specs: list[dict[str, Any]]) -> None:
    """Create silences as the API does (through the service, which bumps the catalog
    revision, so the running server's cached rule set picks them up)."""
    with make_session_factory(engine).begin() as session:
        for spec in specs:
            made = SilenceSpec.model_validate(spec)
            silences.create(session, made, by="bench", now=spec["starts_at"])


def noise_loaded(engine: Engine) -> tuple[int, int, int]:
    """(silences, inhibition rules, grouping rules) in the database."""
    with engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(Silence)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(InhibitRule)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(IncidentRule)).scalar_one()),
        )


def stored_since(engine: Engine, after_id: int) -> Stored:
    """Count what was stored for alerts with an id above ``after_id``."""
    with engine.connect() as conn:
        alerts, inserted = conn.execute(
            select(func.count(), func.count().filter(Alert.total_occurrences == 1)).where(
                Alert.id > after_id
            )
        ).one()
        runs, matched, queued = conn.execute(
            select(
                func.count(),
                func.count(func.distinct(Run.alert_id)),
                func.count().filter(Run.state == "queued"),
            ).where(Run.alert_id > after_id)
        ).one()
        linked = conn.execute(
            select(func.count(func.distinct(IncidentAlert.alert_id))).where(
                IncidentAlert.alert_id > after_id
            )
        ).scalar_one()
    return Stored(int(alerts), int(inserted), int(runs), int(matched), int(queued), int(linked))


def settle(engine: Engine, after_id: int, *, timeout: float = 30) -> Stored:
    """Wait until the server has finished the requests still in flight when wrk stopped:
    the stored counts no longer change for a second."""
    deadline = time.monotonic() + timeout
    last = stored_since(engine, after_id)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = stored_since(engine, after_id)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= 1.0:
            return now
    raise BenchError(f"the server was still storing alerts {timeout}s after the load stopped")


@dataclass
class Verification:
    """Did every alert the server acknowledged get stored, matched and its run enqueued?"""

    accepted: int
    batch: int
    in_flight_bound: int
    stored: Stored
    refused: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        s = self.stored
        verdict = "OK" if self.ok else "FAILED: " + "; ".join(self.problems)
        return (
            f"accepted {self.accepted} (2xx x batch), stored {s.alerts} "
            f"(inserted {s.inserted}), runs {s.runs} for {s.matched} alerts, "
            f"{s.linked} in incidents -> {verdict}"
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def verify(
    stored: Stored, *, accepted: int, batch: int, in_flight_bound: int, refused: int
) -> Verification:
    """Compare what wrk saw acknowledged with what the database holds.

    wrk stops at its deadline without waiting for the requests still in flight (at most one
    per connection); the server finishes and commits those anyway, so the database may hold
    up to ``in_flight_bound`` more alerts than wrk counted as accepted, never fewer.
    """
    v = Verification(
        accepted=accepted,
        batch=batch,
        in_flight_bound=in_flight_bound,
        stored=stored,
        refused=refused,
    )
    if refused:
        v.problems.append(f"{refused} requests were refused or failed (non-2xx/socket errors)")
    if stored.alerts < accepted:
        v.problems.append(f"{accepted - stored.alerts} acknowledged alerts are missing")
    if stored.alerts - accepted > in_flight_bound:
        v.problems.append(
            f"{stored.alerts - accepted} more alerts stored than acknowledged "
            f"(at most {in_flight_bound} can have been in flight)"
        )
    if stored.alerts % batch:
        v.problems.append(f"{stored.alerts} alerts stored is not a whole number of batches")
    if stored.inserted != stored.alerts:
        v.problems.append(f"{stored.alerts - stored.inserted} alerts were deduplicated updates")
    if stored.runs != stored.alerts or stored.matched != stored.alerts:
        v.problems.append(
            f"{stored.runs} runs for {stored.matched} distinct alerts, expected one run for "
            f"each of {stored.alerts} alerts"
        )
    if stored.linked != stored.alerts:
        v.problems.append(f"{stored.alerts - stored.linked} alerts are not in an incident")
    return v


@dataclass
class RunTimes:
    """Enqueue and start times of the runs of alerts above an id, once all have finished."""

    created_at: list[datetime]
    started_at: list[datetime]
    states: dict[str, int]


def finished_runs(engine: Engine, after_id: int, expected: int, *, timeout: float) -> RunTimes:
    """Wait until ``expected`` runs of alerts above ``after_id`` are finished, then read them."""
    terminal = [s.value for s in TERMINAL]
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Run.state, Run.created_at, Run.started_at).where(Run.alert_id > after_id)
            ).all()
        done = [r for r in rows if r.state in terminal]
        if len(rows) >= expected and len(done) == len(rows):
            break
        if time.monotonic() > deadline:
            raise BenchError(
                f"{len(done)} of {expected} runs finished after {timeout}s ({len(rows)} exist)"
            )
        time.sleep(0.5)
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    started = [r for r in rows if r.started_at is not None]
    return RunTimes(
        created_at=[r.created_at for r in started],
        started_at=[r.started_at for r in started],
        states=states,
    )
