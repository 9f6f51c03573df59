"""Config as code for incident grouping rules (``incident_rules:``) and inhibition rules
(``inhibit_rules:``): the part of ``flows.apply`` that makes the database hold them.

Grouping rules exist only in files, and their order matters (the first that matches an alert
decides its group), so they are applied as one ordered list: when the files' list differs
from the stored one, the stored list is replaced and the change audited once with both.
Incidents already opened keep their group key and rule name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.incidents import rules as incident_rules
from sophrosyne.domains.inhibitions import service as inhibitions
from sophrosyne.flows.configcode import ConfigBundle

FILE = "file"


def apply(session: Session, bundle: ConfigBundle, *, actor: str, now: datetime) -> bool:
    """Store the bundle's grouping rules if they changed; True if they did."""
    stored = incident_rules.list_all(session)
    before = [(incident_rules.to_spec(r).model_dump(mode="json"), r.source_file) for r in stored]
    wanted = [(d.spec, d.source_file) for d in bundle.incident_rules]
    after = [(spec.model_dump(mode="json"), source) for spec, source in wanted]
    if before == after:
        return False
    incident_rules.replace(session, wanted, managed_by=FILE, now=now)
    audit.record(
        session,
        actor=actor,
        action="incident_rules.updated",
        object_type="incident_rules",
        detail={
            "before": [b for b, _ in before],
            "after": [a for a, _ in after],
            "managed_by": FILE,
        },
        now=now,
    )
    return True


def apply_inhibitions(session: Session, bundle: ConfigBundle, *, actor: str, now: datetime) -> bool:
    """Store the bundle's inhibition rules (one ordered list) if they changed; audited."""
    stored = inhibitions.list_all(session)
    before = [(inhibitions.to_spec(r).model_dump(mode="json"), r.source_file) for r in stored]
    wanted = [(d.spec, d.source_file) for d in bundle.inhibit_rules]
    after = [(spec.model_dump(mode="json"), source) for spec, source in wanted]
    if before == after:
        return False
    inhibitions.replace(session, wanted, managed_by=FILE, now=now)
    audit.record(
        session,
        actor=actor,
        action="inhibit_rules.updated",
        object_type="inhibit_rules",
        detail={"before": [b for b, _ in before], "after": [a for a, _ in after]},
        now=now,
    )
    return True
