"""Recommendations: create, update, delete and look up; attachments; render for an alert.

Services take a session and never commit. Attachment bytes go to an ``AttachmentStore``
before their row is inserted, so a row never names a missing file; a file is removed only
after the transaction that dropped its last reference committed (``unreferenced``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sophrosyne import markup
from sophrosyne.domains.recommendations.attachments import CheckedFile
from sophrosyne.domains.recommendations.checks import spec_problems
from sophrosyne.domains.recommendations.models import Recommendation, RecommendationAttachment
from sophrosyne.domains.recommendations.render import Rendered, render
from sophrosyne.domains.recommendations.schemas import (
    AttachmentOut,
    RecommendationOut,
    RecommendationSpec,
)
from sophrosyne.domains.recommendations.storage import AttachmentStore
from sophrosyne.errors import Conflict, NotFound, ReadOnly, ValidationFailed

#: Attachments one recommendation may have.
MAX_ATTACHMENTS = 20


def get_by_name(session: Session, name: str) -> Recommendation:
    found = find_by_name(session, name)
    if found is None:
        raise NotFound("recommendation", name)
    return found


def find_by_name(session: Session, name: str) -> Recommendation | None:
    return session.scalar(select(Recommendation).where(Recommendation.name == name))


def by_names(session: Session, names: Collection[str]) -> dict[str, Recommendation]:
    if not names:
        return {}
    rows = session.scalars(select(Recommendation).where(Recommendation.name.in_(set(names))))
    return {r.name: r for r in rows}


def list_all(session: Session) -> list[Recommendation]:
    return list(session.scalars(select(Recommendation).order_by(Recommendation.name)))


def to_spec(rec: Recommendation) -> RecommendationSpec:
    return RecommendationSpec.model_validate(
        {
            "name": rec.name,
            "title": rec.title,
            "instructions": rec.instructions,
            "instructions_format": rec.instructions_format,
            "responsible": rec.responsible,
            "parameters": rec.parameters,
        }
    )


def attachments_of(session: Session, rec: Recommendation) -> list[RecommendationAttachment]:
    return list(
        session.scalars(
            select(RecommendationAttachment)
            .where(RecommendationAttachment.recommendation_id == rec.id)
            .order_by(RecommendationAttachment.id)
        )
    )


def to_out(session: Session, rec: Recommendation) -> RecommendationOut:
    return RecommendationOut(
        id=rec.id,
        name=rec.name,
        title=rec.title,
        instructions=rec.instructions,
        instructions_format=rec.instructions_format,
        instructions_html=markup.render(rec.instructions, _format(rec)),
        responsible=list(rec.responsible),
        parameters=list(rec.parameters),
        attachments=[AttachmentOut.model_validate(a) for a in attachments_of(session, rec)],
        managed_by=rec.managed_by,
        source_file=rec.source_file,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
    )


def _format(rec: Recommendation) -> markup.Format:
    return "html" if rec.instructions_format == "html" else "markdown"


def check(spec: RecommendationSpec) -> None:
    """Refuse instructions that are unsafe to show (``ValidationFailed`` at ``instructions``)."""
    problems = spec_problems(spec)
    if problems:
        raise ValidationFailed(problems)


def _assign(rec: Recommendation, spec: RecommendationSpec, now: datetime) -> None:
    rec.title = spec.title
    rec.instructions = spec.instructions
    rec.instructions_format = spec.instructions_format
    rec.responsible = list(spec.responsible)
    rec.parameters = [p.model_dump(exclude_none=True) for p in spec.parameters]
    rec.updated_at = now


def create(
    session: Session,
    spec: RecommendationSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Recommendation:
    check(spec)
    if find_by_name(session, spec.name) is not None:
        raise Conflict(f"a recommendation named {spec.name!r} already exists")
    rec = Recommendation(
        name=spec.name, managed_by=managed_by, source_file=source_file, created_at=now
    )
    _assign(rec, spec, now)
    session.add(rec)
    session.flush()
    return rec


def _writable(rec: Recommendation, managed_by: str) -> None:
    ReadOnly.unless_owner("recommendation", rec.name, rec.managed_by, managed_by)


def update(
    session: Session,
    name: str,
    spec: RecommendationSpec,
    *,
    now: datetime,
    managed_by: str = "api",
    source_file: str | None = None,
) -> Recommendation:
    rec = get_by_name(session, name)
    _writable(rec, managed_by)
    if spec.name != name:
        raise Conflict("a recommendation cannot be renamed; create a new one")
    check(spec)
    rec.source_file = source_file
    _assign(rec, spec, now)
    session.flush()
    return rec


def delete(session: Session, name: str, *, managed_by: str = "api") -> list[str]:
    """Delete a recommendation and its attachments' rows; the digests of the files they
    referred to (pass them to ``unreferenced`` after commit). Its tasks keep their snapshot."""
    rec = get_by_name(session, name)
    _writable(rec, managed_by)
    digests = [a.sha256 for a in attachments_of(session, rec)]
    session.delete(rec)
    session.flush()
    return digests


def add_attachment(
    session: Session,
    rec: Recommendation,
    upload: CheckedFile,
    *,
    store: AttachmentStore,
    actor: str,
    now: datetime,
) -> RecommendationAttachment:
    """Attach a checked upload. Allowed on file-managed recommendations too, since files
    cannot carry attachments (like a file-managed target's credentials)."""
    count = session.scalar(
        select(func.count(RecommendationAttachment.id)).where(
            RecommendationAttachment.recommendation_id == rec.id
        )
    )
    if (count or 0) >= MAX_ATTACHMENTS:
        raise Conflict(f"recommendation {rec.name!r} already has {MAX_ATTACHMENTS} attachments")
    taken = session.scalar(
        select(RecommendationAttachment.id).where(
            RecommendationAttachment.recommendation_id == rec.id,
            RecommendationAttachment.filename == upload.filename,
        )
    )
    if taken is not None:
        raise Conflict(
            f"recommendation {rec.name!r} already has an attachment named {upload.filename!r}; "
            "delete it first"
        )
    store.put(upload.sha256, upload.data)
    row = RecommendationAttachment(
        recommendation_id=rec.id,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        uploaded_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_attachment(session: Session, name: str, attachment_id: int) -> RecommendationAttachment:
    rec = get_by_name(session, name)
    row = session.get(RecommendationAttachment, attachment_id)
    if row is None or row.recommendation_id != rec.id:
        raise NotFound("attachment", attachment_id)
    return row


def remove_attachment(session: Session, name: str, attachment_id: int) -> RecommendationAttachment:
    row = get_attachment(session, name, attachment_id)
    session.delete(row)
    session.flush()
    return row


def unreferenced(session: Session, digests: Collection[str]) -> list[str]:
    """The digests among ``digests`` that no attachment row refers to any more."""
    if not digests:
        return []
    used = set(
        session.scalars(
            select(RecommendationAttachment.sha256).where(
                RecommendationAttachment.sha256.in_(set(digests))
            )
        )
    )
    return sorted(set(digests) - used)


def render_for(rec: Recommendation, raw: Mapping[str, Any]) -> Rendered:
    """``rec`` made concrete with parameter values ``raw`` (validated against its specs)."""
    return render(
        title=rec.title,
        instructions=rec.instructions,
        fmt=_format(rec),
        parameters=rec.parameters,
        raw=raw,
    )
