"""Alert ingestion: Alertmanager's webhook and the generic alert API.

These routes are the hot path, so they read the body themselves (orjson, then pydantic) instead
of through a FastAPI body parameter, and are stored by group commit (``api.groupcommit``): the
requests waiting at one moment share one transaction. A payload is all-or-nothing: if anything in
it is invalid, the reply is 422 listing every wrong field and nothing is stored. A 200 means
every alert and every run it caused is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter
from sqlalchemy.orm import Session

from sophrosyne.api.deps import RawBody, State, permit
from sophrosyne.api.errors import ERROR_RESPONSES, from_pydantic, parse_json
from sophrosyne.api.openapi import json_body, ref
from sophrosyne.api.state import AppState
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.alerts.schemas import (
    AlertmanagerPayload,
    GenericAlert,
    IncomingAlert,
    IngestReply,
)
from sophrosyne.domains.alerts.sources import from_alertmanager, from_generic
from sophrosyne.domains.incidents.grouping import default_rule
from sophrosyne.errors import ValidationFailed
from sophrosyne.flows.ingest import Batch, IngestResult, ingest_many, prepare
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/alerts", tags=["alerts"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: {"description": "Body larger than the configured limit (max_body_bytes)"},
    422: {"description": "Invalid payload: every wrong field is listed; nothing was stored"},
}
_GENERIC_BATCH = pydantic.TypeAdapter(list[GenericAlert])


def _rejected(state: AppState, source: str, exc: ValidationFailed) -> None:
    state.metrics.ingest_rejected.labels(source=source).inc()
    log.info(
        "ingest.rejected",
        source=source,
        error_count=len(exc.errors),
        fields=[e.where() for e in exc.errors[:10]],
    )


@dataclass(frozen=True)
class _Request:
    """One ingest request, parsed and planned, waiting to be stored."""

    state: AppState
    batch: Batch


def _plan(
    state: AppState,
    principal: Principal,
    incoming: list[IncomingAlert],
    detail: dict[str, object],
) -> _Request:
    # Matching and rendering need only the payload and the rules, so they are done before the
    # transaction; ingest_many() checks in it that the rules have not changed since.
    cached = state.rules.cached()
    prepared = prepare(incoming, cached) if cached is not None else None
    return _Request(state, Batch(incoming, principal.actor, detail, prepared))


def _store_all(session: Session, requests: list[_Request]) -> list[IngestResult]:
    """The requests of one group commit, stored with one pass over the database."""
    state = requests[0].state
    return ingest_many(
        session,
        [r.batch for r in requests],
        rules=state.rules,
        now=state.clock(),  # the application's clock (utcnow), which tests move by hand
        incident_default=default_rule(state.settings),
    )


async def _ingest(state: AppState, parse: Callable[[], _Request]) -> IngestReply:
    result = await state.committer.submit(parse, _store_all)
    # Committed: only now count it and wake the worker.
    for (source, status), count in result.received_by.items():
        state.metrics.alerts_received.labels(source=source, status=status).inc(count)
    state.enqueued(result.queued_run_ids)
    log.debug(
        "ingest.accepted",
        received=result.reply.received,
        runs_enqueued=result.reply.runs_enqueued,
    )
    return result.reply


def parse_alertmanager(body: bytes) -> AlertmanagerPayload:
    try:
        return AlertmanagerPayload.model_validate(parse_json(body))
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None


def parse_generic(body: bytes) -> list[GenericAlert]:
    data = parse_json(body)
    try:
        if isinstance(data, dict):
            return [GenericAlert.model_validate(data)]
        if isinstance(data, list):
            if not data:
                raise ValidationFailed.single(
                    ("body",), "the array is empty; send at least one alert"
                )
            return _GENERIC_BATCH.validate_python(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc) from None
    raise ValidationFailed.single(("body",), "expected an alert object or a JSON array of alerts")


@router.post(
    "/alertmanager",
    summary="Alertmanager webhook (payload version 4)",
    response_model=IngestReply,
    responses=_RESPONSES,
    openapi_extra=json_body(
        ref(AlertmanagerPayload), "Alertmanager's webhook body, exactly as Alertmanager sends it."
    ),
)
async def alertmanager_webhook(
    principal: Annotated[Principal, permit("alerts.ingest")], body: RawBody, state: State
) -> IngestReply:
    """Point an Alertmanager ``webhook_configs`` receiver here, with a bearer token that has
    the ``ingest`` (or ``write``) scope. Alertmanager's fingerprints are kept verbatim.
    Needs scope ``ingest`` or ``write``."""

    def parse() -> _Request:
        try:
            payload = parse_alertmanager(body)
        except ValidationFailed as exc:
            _rejected(state, "alertmanager", exc)
            raise
        detail: dict[str, object] = {
            "source": "alertmanager",
            "receiver": payload.receiver,
            "groupKey": payload.groupKey,
            "truncatedAlerts": payload.truncatedAlerts,
        }
        return _plan(state, principal, from_alertmanager(payload), detail)

    return await _ingest(state, parse)


@router.post(
    "",
    summary="Send alerts (one object or an array)",
    response_model=IngestReply,
    responses=_RESPONSES,
    openapi_extra=json_body(
        {
            "oneOf": [
                ref(GenericAlert),
                {"type": "array", "items": ref(GenericAlert), "minItems": 1},
            ]
        },
        "One alert object, or a non-empty JSON array of them.",
    ),
)
async def send_alerts(
    principal: Annotated[Principal, permit("alerts.ingest")], body: RawBody, state: State
) -> IngestReply:
    """Send one alert, or a batch as a JSON array.

    A batch is **all-or-nothing**: if any alert in it is invalid, the reply is 422 listing
    every invalid alert by its index in the array and the field that was wrong
    (``loc: [2, "labels"]``), and nothing from the batch is stored. An empty array is refused.
    Without a ``fingerprint``, an alert is identified by a hash of its labels (annotations
    never count). Needs scope ``ingest`` or ``write``."""

    def parse() -> _Request:
        try:
            alerts = parse_generic(body)
        except ValidationFailed as exc:
            _rejected(state, "generic", exc)
            raise
        return _plan(state, principal, from_generic(alerts), {"source": "generic"})

    return await _ingest(state, parse)
