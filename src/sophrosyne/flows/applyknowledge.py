"""Config as code for recommendations and runbook articles: the part of ``flows.apply`` that
makes the database hold what the files say about them.

``flows.apply`` calls ``upsert`` (after actions, before rules, so that rules may name
recommendations) and ``delete_removed`` (after rules), handing over its generic upsert and its
``done`` callback, which audits each change. Attachments are never in files: a file-managed
recommendation keeps those uploaded through the API while it is in the files, and loses
their rows when it is removed from them (the files on disk stay until pruned).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.models import Article
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.models import Recommendation
from sophrosyne.errors import Conflict
from sophrosyne.flows.configcode import ConfigBundle

FILE = "file"
#: ``flows.apply._upsert`` with the session, kind, items and stored objects given.
Upsert = Callable[..., None]
#: ``done(Change(verb, kind, name, source_file), object_id, detail)`` as ``flows.apply`` has it.
Done = Callable[[str, str, str, str | None, int], None]


def _stored(session: Session) -> tuple[dict[str, Recommendation], dict[str, Article]]:
    recs = {r.name: r for r in recommendations.list_all(session)}
    arts = {a.slug: a for a in knowledge.list_all(session)}
    return recs, arts


def refuse_clashes(session: Session, bundle: ConfigBundle) -> None:
    """A file object may not take over a name managed through the API."""
    recs, arts = _stored(session)
    clashes = []
    items: list[tuple[str, Any, Recommendation | Article | None]] = [
        ("recommendation", r, recs.get(r.spec.name)) for r in bundle.recommendations
    ]
    items += [("article", a, arts.get(a.spec.slug)) for a in bundle.articles]
    for kind, item, existing in items:
        if existing is not None and existing.managed_by != FILE:
            line = bundle.line(item.file, item.loc)
            clashes.append(
                f"{item.file}:{line}: {kind} {item.spec.name!r} is already managed by "
                f"{existing.managed_by}"
            )
    if clashes:
        raise Conflict(
            "; ".join(clashes) + " — rename the object in the file, or delete the other first"
        )


def upsert(session: Session, bundle: ConfigBundle, *, upsert: Upsert, now: datetime) -> None:
    """Create what is new and update what changed, for both kinds."""
    recs, arts = _stored(session)
    upsert(
        session,
        "recommendation",
        bundle.recommendations,
        recs,
        current=recommendations.to_spec,
        create=recommendations.create,
        update=recommendations.update,
        now=now,
    )
    upsert(
        session,
        "article",
        bundle.articles,
        arts,
        current=knowledge.to_spec,
        create=knowledge.create,
        update=knowledge.update,
        now=now,
    )


def delete_removed(session: Session, bundle: ConfigBundle, *, done: Done) -> None:
    """Delete the file-managed objects that the files no longer define."""
    recs, arts = _stored(session)
    keep_recs = {r.spec.name for r in bundle.recommendations}
    for name, rec in recs.items():
        if rec.managed_by == FILE and name not in keep_recs:
            recommendations.delete(session, name, managed_by=FILE)
            done("deleted", "recommendation", name, rec.source_file, rec.id)
    keep_arts = {a.spec.slug for a in bundle.articles}
    for slug, art in arts.items():
        if art.managed_by == FILE and slug not in keep_arts:
            knowledge.delete(session, slug, managed_by=FILE)
            done("deleted", "article", slug, art.source_file, art.id)
