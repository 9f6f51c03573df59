"""Liveness and readiness probes, without authentication (they reveal nothing)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from sophrosyne.api.deps import State
from sophrosyne.api.schemas import Health
from sophrosyne.db.dialect import database_ready
from sophrosyne.db.migrate import is_up_to_date
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """200 whenever the process can answer HTTP at all."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "Database down or schema not migrated"}},
)
def readyz(state: State) -> Health | JSONResponse:
    """200 when the database answers and its schema is at the newest migration; else 503
    with the reason. Take the process out of a load balancer while this is not 200."""
    try:
        with state.reading() as session:
            database_ready(session)
    except SQLAlchemyError as exc:
        log.warning("readyz.database_unavailable", error=str(exc).splitlines()[0])
        return _unready(f"database unavailable: {type(exc).__name__}")
    if not state.schema_ready:
        try:
            state.schema_ready = is_up_to_date(state.engine)
        except SQLAlchemyError as exc:
            log.warning("readyz.migration_check_failed", error=str(exc).splitlines()[0])
            return _unready(f"cannot read the schema version: {type(exc).__name__}")
        if not state.schema_ready:
            return _unready(
                "database schema is not at the newest migration; run: sophrosyne db upgrade"
            )
    return Health(status="ready")


def _unready(reason: str) -> JSONResponse:
    return JSONResponse(Health(status="unavailable", reason=reason).model_dump(), status_code=503)
