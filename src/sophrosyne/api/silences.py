"""Silences: create, list (by state), look up, expire. Creating and expiring are audited.

A firing alert matched by an active silence is stored and grouped but triggers no automation;
the alert records the silence that held it back (see ``flows.noise``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sophrosyne.api.deps import State, as_utc, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.domains.inhibitions.schemas import InhibitRuleOut
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceOut, SilenceSpec, SilenceState
from sophrosyne.flows import silencing
from sophrosyne.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/silences", tags=["silences"], responses=ERROR_RESPONSES)
inhibit_router = APIRouter(prefix="/inhibit_rules", tags=["silences"], responses=ERROR_RESPONSES)


@inhibit_router.get(
    "", response_model=list[InhibitRuleOut], summary="List inhibition rules (from files)"
)
def list_inhibit_rules(
    _principal: Annotated[Principal, permit("silences.read")], state: State
) -> list[InhibitRuleOut]:
    """Defined in YAML under ``inhibit_rules:`` and applied with the rest of the config."""
    with state.reading() as session:
        return [inhibitions.to_out(r) for r in inhibitions.list_all(session)]


@router.post(
    "",
    response_model=SilenceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Silence matching alerts for a while",
)
def create_silence(
    spec: SilenceSpec,
    principal: Annotated[Principal, permit("silences.edit")],
    state: State,
) -> SilenceOut:
    """Matchers use Alertmanager's syntax (``name="v"``, ``!=``, ``=~``, ``!~``); a bad one
    is refused naming its position in ``matchers``. Times without a zone are UTC."""
    now = state.clock()
    spec = spec.model_copy(
        update={"starts_at": as_utc(spec.starts_at), "ends_at": as_utc(spec.ends_at)}
    )
    with state.transaction() as session:
        out = silencing.create(session, spec, principal, now=now)
    log.info("silence.created", silence_id=out.id, by=principal.actor)
    return out


@router.get("", response_model=list[SilenceOut], summary="List silences")
def list_silences(
    _principal: Annotated[Principal, permit("silences.read")],
    state: State,
    silence_state: Annotated[
        SilenceState | None, Query(alias="state", description="active, pending or expired")
    ] = None,
    matched_nothing: Annotated[
        bool | None,
        Query(description="true: only silences that held back nothing and match no firing alert"),
    ] = None,
    expiring_within: Annotated[
        int | None,
        Query(ge=1, description="Only unexpired silences ending within this many seconds"),
    ] = None,
) -> list[SilenceOut]:
    """Newest first, each with what it held back and what it matches firing now."""
    now = state.clock()
    with state.reading() as session:
        found = silences.to_outs(
            session, silences.list_all(session, now=now, state=silence_state), now=now
        )
    if matched_nothing is not None:
        found = [s for s in found if s.matched_nothing == matched_nothing]
    if expiring_within is not None:
        found = [
            s
            for s in found
            if s.expires_in_seconds is not None and s.expires_in_seconds <= expiring_within
        ]
    return found


@router.get("/{silence_id}", response_model=SilenceOut, summary="Look up a silence")
def get_silence(
    silence_id: int,
    _principal: Annotated[Principal, permit("silences.read")],
    state: State,
) -> SilenceOut:
    now = state.clock()
    with state.reading() as session:
        [out] = silences.to_outs(session, [silences.get(session, silence_id)], now=now)
    return out


@router.post("/{silence_id}/expire", response_model=SilenceOut, summary="End a silence now")
def expire_silence(
    silence_id: int,
    principal: Annotated[Principal, permit("silences.edit")],
    state: State,
) -> SilenceOut:
    now = state.clock()
    with state.transaction() as session:
        out = silencing.expire(session, silence_id, principal, now=now)
    log.info("silence.expired", silence_id=out.id, by=principal.actor)
    return out
