"""Creating and expiring silences with their audit entries, in the caller's transaction. The
API (``/api/v1/silences``) and the silences page both come through here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.accounts.principal import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceOut, SilenceSpec


def create(
    session: Session, spec: SilenceSpec, principal: Principal, *, now: datetime, via: str = "api"
) -> SilenceOut:
    """``ValidationFailed`` naming the matcher (``matchers``, i), ``ends_at`` or ``comment``."""
    silence = silences.create(session, spec, by=principal.actor, now=now)
    out = silences.to_out(silence, now)
    detail = out.model_dump(mode="json", include={"matchers", "comment", "ends_at"})
    audit.record(
        session,
        actor=principal.actor,
        action="silences.created",
        object_type="silence",
        object_id=silence.id,
        detail={**detail, "via": via},
        now=now,
    )
    return out


def expire(
    session: Session, silence_id: int, principal: Principal, *, now: datetime, via: str = "api"
) -> SilenceOut:
    """End a silence now; ``Conflict`` if it has already ended."""
    silence = silences.expire(session, silence_id, now=now)
    out = silences.to_out(silence, now)
    audit.record(
        session,
        actor=principal.actor,
        action="silences.expired",
        object_type="silence",
        object_id=silence.id,
        detail={"reason": "expired by hand", "via": via},
        now=now,
    )
    return out
