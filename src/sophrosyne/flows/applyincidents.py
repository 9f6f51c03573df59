"""Config as code for incident grouping rules (``incident_rules:``) and inhibition rules
(``inhibit_rules:``): the part of ``flows.apply`` that makes the database hold them.

Grouping rules exist only in files, and their order matters (the first that matches an alert
decides its group), so they are applied as one ordered list: when the files' list differs
from the stored one, the stored list is replaced and the change audited once with both.
Incidents already opened keep their group key and rule name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents import rules as incident_rules
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.flows.configcode import ConfigBundle

FILE = "file"


def _replace_list(
    session: Session,
    stored: Sequence[Any],
    to_spec: Callable[[Any], BaseModel],
    wanted: list[tuple[Any, str]],
    replace: Callable[..., Any],
    *,
    kind: str,
    actor: str,
    now: datetime,
) -> bool:
    """Store an ordered list of file-managed rules whole, if it changed; audited once."""
    before = [(to_spec(r).model_dump(mode="json"), r.source_file) for r in stored]
    after = [(spec.model_dump(mode="json"), source) for spec, source in wanted]
    if before == after:
        return False
    replace(session, wanted, managed_by=FILE, now=now)
    audit.record(
        session,
        actor=actor,
        action=f"{kind}.updated",
        object_type=kind,
        detail={
            "before": [b for b, _ in before],
            "after": [a for a, _ in after],
            "managed_by": FILE,
        },
        now=now,
    )
    return True


def apply(session: Session, bundle: ConfigBundle, *, actor: str, now: datetime) -> bool:
    """Store the bundle's grouping rules if they changed; True if they did."""
    return _replace_list(
        session,
        incident_rules.list_all(session),
        incident_rules.to_spec,
        [(d.spec, d.source_file) for d in bundle.incident_rules],
        incident_rules.replace,
        kind="incident_rules",
        actor=actor,
        now=now,
    )


def apply_inhibitions(session: Session, bundle: ConfigBundle, *, actor: str, now: datetime) -> bool:
    """Store the bundle's inhibition rules (one ordered list) if they changed; audited."""
    return _replace_list(
        session,
        inhibitions.list_all(session),
        inhibitions.to_spec,
        [(d.spec, d.source_file) for d in bundle.inhibit_rules],
        inhibitions.replace,
        kind="inhibit_rules",
        actor=actor,
        now=now,
    )
