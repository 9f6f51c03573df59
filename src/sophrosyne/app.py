"""Composition root of the HTTP application: settings in, a FastAPI app out.

``create_app`` builds the engine (unless given one), the session factory, the rule cache and
the metrics, and wires the routes. It does not migrate the database or start workers: the CLI
does both. Importing this module does nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from sophrosyne import __version__
from sophrosyne.api import (
    alerts,
    audit,
    auth,
    automation,
    catalog,
    confirmations,
    docs,
    errors,
    fatigue,
    health,
    incidents,
    ingest,
    knowledge,
    maintenance,
    notifications,
    oncall,
    openapi,
    recommendations,
    reports,
    runoutput,
    runs,
    silences,
    targets,
    tasks,
    tokens,
    users,
)
from sophrosyne.api import metrics as metrics_routes
from sophrosyne.api.authcache import TokenCache
from sophrosyne.api.groupcommit import GroupCommitter
from sophrosyne.api.limits import BodyLimit
from sophrosyne.api.state import AppState
from sophrosyne.api.timing import ServerTiming
from sophrosyne.config import Settings
from sophrosyne.db.engine import make_engine, make_session_factory
from sophrosyne.domains.rules.service import RuleCache
from sophrosyne.domains.targets.keys import optional_keyring
from sophrosyne.metrics import Metrics
from sophrosyne.web import routes as web_routes

API_PREFIX = "/api/v1"

_DESCRIPTION = """\
Alert-driven automation. Monitoring sends alerts; rules answer them with actions, run
automatically or after confirmation; everything is audited.

**Authentication**: `Authorization: Bearer <token>`, or the session cookie set by
`POST /api/v1/auth/login`; changes made with the cookie also send `X-CSRF-Token`. Each route
names the permission it needs: a user's come from their role (viewer, operator, admin); a
token's from its scopes (`read`, `write`, `ingest`) within its owner's role.

**Errors**: `{"detail": "message"}`, or for invalid input `{"detail": [{"loc": [...],
"msg": "...", "type": "..."}]}` naming every wrong field; `loc` is the path inside the body,
or starts with `query`/`path` for URL parameters.

`/healthz`, `/readyz` and `/metrics` need no token.
"""

_TAGS = [
    {"name": "alerts", "description": "Ingest alerts and look them up."},
    {"name": "silences", "description": "Alerts deliberately not acted on, for a while."},
    {"name": "actions", "description": "The catalog of remediations."},
    {"name": "rules", "description": "Which alerts trigger which actions."},
    {"name": "targets", "description": "Hosts actions run on; credentials are write-only."},
    {"name": "runs", "description": "Executions of actions: the work queue and its record."},
    {
        "name": "confirmations",
        "description": "Runs waiting for people: approve exactly what will run, or reject it.",
    },
    {"name": "recommendations", "description": "Instructions for people, with attachments."},
    {"name": "tasks", "description": "Work for people: open, acknowledged, done, dismissed."},
    {"name": "incidents", "description": "Alerts grouped, with a lifecycle and a timeline."},
    {"name": "knowledge", "description": "Runbook articles, and past fixes ranked by success."},
    {"name": "notifications", "description": "Channels, routes, escalation policies, records."},
    {"name": "on-call", "description": "Schedules: who is on call now and next; iCal."},
    {"name": "audit", "description": "Who did what, when (read only)."},
    {"name": "auth", "description": "Log in and out, who am I, change your password."},
    {"name": "users", "description": "People who log in, and their roles (admins)."},
    {"name": "automation", "description": "The kill switch: pause all automatic runs."},
    {"name": "tokens", "description": "API tokens."},
    {"name": "health", "description": "Probes for orchestrators and load balancers."},
    {"name": "metrics", "description": "Prometheus exposition."},
]


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    metrics: Metrics | None = None,
    on_enqueue: Callable[[list[int]], None] | None = None,
) -> FastAPI:
    """The API application.

    ``engine``: reuse an engine (tests, or a process that shares one with its worker); one
    built here is disposed when the application shuts down. ``on_enqueue`` is called after
    commit with the ids of the runs a request queued, so an in-process worker wakes at once.
    """
    keyring = optional_keyring(settings)  # a malformed key fails here, before anything opens
    owns_engine = engine is None
    if engine is None:
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    session_factory = make_session_factory(engine)
    state = AppState(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        read_session_factory=make_session_factory(engine, readonly=True),
        rules=RuleCache(),
        tokens=TokenCache(settings.auth_cache_seconds),
        metrics=metrics if metrics is not None else Metrics(),
        committer=GroupCommitter(
            session_factory, threads=1 if engine.dialect.name == "sqlite" else 4
        ),
        on_enqueue=on_enqueue,
        keyring=keyring,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.committer.close()
        if owns_engine:
            state.engine.dispose()

    app = FastAPI(
        title="Sophrosyne",
        version=__version__,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by api.docs without a CDN
        redoc_url=None,
    )
    app.state.sophrosyne = state
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServerTiming)  # outermost of ours: it times the others too
    for router in (
        ingest.router,
        alerts.router,
        catalog.actions_router,
        catalog.rules_router,
        targets.router,
        runs.router,
        confirmations.router,
        recommendations.router,
        tasks.router,
        incidents.router,
        knowledge.router,
        knowledge.alert_router,
        runoutput.router,
        audit.router,
        automation.router,
        tokens.router,
        auth.router,
        users.router,
        notifications.router,
        oncall.router,
        silences.router,
        silences.inhibit_router,
        maintenance.router,
        reports.router,
        fatigue.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    web_routes.install(app)  # the pages and /static
    return app
