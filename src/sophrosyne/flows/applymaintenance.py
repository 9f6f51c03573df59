"""Config as code for maintenance windows (``maintenance_windows:``): the part of
``flows.apply`` that makes the database hold them. Windows in files are ``managed_by="file"``
(read-only through the API); a window removed from the files is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.errors import Conflict
from sophrosyne.flows.configcode import ConfigBundle

FILE = "file"
KIND = "maintenance_window"
#: ``flows.apply._upsert`` with the summary and ``done`` given.
Upsert = Callable[..., None]
#: ``done(verb, kind, name, source_file, object_id)``.
Done = Callable[[str, str, str, str | None, int], None]


def refuse_clashes(session: Session, bundle: ConfigBundle) -> None:
    """A window in a file may not take over the name of one made through the API."""
    clashes = []
    for item in bundle.maintenance_windows:
        existing = maintenance.find_by_name(session, item.spec.name)
        if existing is not None and existing.managed_by != FILE:
            line = bundle.line(item.file, (*item.loc, "name"))
            clashes.append(
                f"{item.file}:{line}: maintenance window {item.spec.name!r} is already "
                f"managed by {existing.managed_by}"
            )
    if clashes:
        raise Conflict(
            "; ".join(clashes) + " — rename the window in the file, or delete the other first"
        )


def apply(
    session: Session, bundle: ConfigBundle, *, upsert: Upsert, done: Done, now: datetime
) -> None:
    """Create, update (when changed) and delete the file-managed windows; audited by ``done``."""
    stored = {w.name: w for w in maintenance.list_all(session)}
    upsert(
        session,
        KIND,
        bundle.maintenance_windows,
        stored,
        current=maintenance.to_spec,
        create=maintenance.create,
        update=maintenance.update,
        now=now,
    )
    keep = {w.spec.name for w in bundle.maintenance_windows}
    for name, window in stored.items():
        if window.managed_by == FILE and name not in keep:
            maintenance.delete(session, name, managed_by=FILE)
            done("deleted", KIND, name, window.source_file, window.id)
