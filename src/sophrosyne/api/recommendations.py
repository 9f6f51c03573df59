"""Recommendations: instructions for people, and their attachments.

Objects loaded from config files (``managed_by: file``) are read-only here (409), except for
attachments, which files cannot carry. Instructions with scripts, event handlers or
``javascript:`` links, and attachments that are too large, of a refused type, disguised as
another type or named with a path, are refused with the field named; each refusal is audited
and nothing stored changes. Attachments are served as downloads that a browser will not run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Response, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from sophrosyne.api.deps import State, permit
from sophrosyne.api.errors import ERROR_RESPONSES
from sophrosyne.api.refusals import audited_refusal
from sophrosyne.api.state import AppState, utcnow
from sophrosyne.domains.accounts.service import Principal
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.attachments import check_upload
from sophrosyne.domains.recommendations.schemas import (
    AttachmentOut,
    RecommendationOut,
    RecommendationSpec,
)
from sophrosyne.domains.recommendations.storage import AttachmentStore

Reading = Annotated[Principal, permit("recommendations.read")]
Changing = Annotated[Principal, permit("recommendations.edit")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No object of that name"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Name taken, or managed by config files (read-only)"}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid or unsafe input; every wrong field is listed (audited)"}
}
#: Headers of every attachment download: never rendered, never sniffed, never scripted.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-cache",
    "Cross-Origin-Resource-Policy": "same-origin",
}

router = APIRouter(prefix="/recommendations", tags=["recommendations"], responses=ERROR_RESPONSES)


def store_of(state: AppState) -> AttachmentStore:
    return AttachmentStore(state.settings.data_dir / "attachments")


def _audit(
    session: Session, principal: Principal, event: str, name: str, detail: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=principal.actor,
        action=event,
        object_type="recommendation",
        object_id=name,
        detail=detail,
        now=utcnow(),
    )


def _dump(spec: RecommendationSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")


def _prune(state: AppState, digests: list[str]) -> None:
    """After commit: remove the files that no attachment refers to any more."""
    if not digests:
        return
    with state.reading() as session:
        unused = recommendations.unreferenced(session, digests)
    store = store_of(state)
    for digest in unused:
        store.remove(digest)


@router.get("", response_model=list[RecommendationOut], summary="List recommendations")
def list_recommendations(_principal: Reading, state: State) -> list[RecommendationOut]:
    """Needs scope ``read``."""
    with state.reading() as session:
        return [recommendations.to_out(session, r) for r in recommendations.list_all(session)]


@router.get(
    "/{name}", response_model=RecommendationOut, summary="One recommendation", responses=_NOT_FOUND
)
def get_recommendation(name: str, _principal: Reading, state: State) -> RecommendationOut:
    """``instructions_html`` is the sanitised HTML. Needs scope ``read``."""
    with state.reading() as session:
        return recommendations.to_out(session, recommendations.get_by_name(session, name))


@router.post(
    "",
    response_model=RecommendationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a recommendation",
    responses={**_CONFLICT, **_INVALID},
)
def create_recommendation(
    spec: RecommendationSpec, principal: Changing, state: State
) -> RecommendationOut:
    """``title`` and ``instructions`` are templates over ``params.NAME``. Instructions are
    Markdown (or HTML with ``instructions_format: html``) and refused (422 at
    ``instructions``, audited) if they hold a script, an event handler or a ``javascript:``
    link. Needs scope ``write``."""
    with (
        audited_refusal(
            state,
            principal,
            action="recommendation.refused",
            object_type="recommendation",
            object_id=spec.name,
        ),
        state.transaction() as session,
    ):
        rec = recommendations.create(session, spec, now=utcnow())
        _audit(session, principal, "recommendation.created", spec.name, _dump(spec))
        return recommendations.to_out(session, rec)


@router.put(
    "/{name}",
    response_model=RecommendationOut,
    summary="Replace a recommendation's definition",
    responses={**_NOT_FOUND, **_CONFLICT, **_INVALID},
)
def update_recommendation(
    name: str, spec: RecommendationSpec, principal: Changing, state: State
) -> RecommendationOut:
    """The body's ``name`` must equal the path's; attachments are kept. Needs ``write``."""
    with (
        audited_refusal(
            state,
            principal,
            action="recommendation.refused",
            object_type="recommendation",
            object_id=name,
        ),
        state.transaction() as session,
    ):
        rec = recommendations.update(session, name, spec, now=utcnow())
        _audit(session, principal, "recommendation.updated", name, _dump(spec))
        return recommendations.to_out(session, rec)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a recommendation and its attachments",
    responses={**_NOT_FOUND, **_CONFLICT},
)
def delete_recommendation(name: str, principal: Changing, state: State) -> Response:
    """Tasks opened from it keep what they were told. Needs scope ``write``."""
    with state.transaction() as session:
        spec = recommendations.to_spec(recommendations.get_by_name(session, name))
        digests = recommendations.delete(session, name)
        _audit(session, principal, "recommendation.deleted", name, _dump(spec))
    _prune(state, digests)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{name}/attachments",
    response_model=AttachmentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Attach a file",
    responses={
        **_NOT_FOUND,
        409: {"description": "A file of that name is already attached, or too many files"},
        413: {"description": "Body larger than the configured limit (max_body_bytes)"},
        **_INVALID,
    },
)
def upload_attachment(
    name: str,
    file: Annotated[UploadFile, File(description="The file (multipart/form-data).")],
    principal: Changing,
    state: State,
) -> AttachmentOut:
    """Plain text (.txt, .log, .md), PDF, PNG or JPEG, up to ``attachment_max_bytes``. The
    extension, the declared content type and the content's own first bytes must agree; a
    file name with a path is refused. Refusals are 422 naming ``file``, ``file.filename`` or
    ``file.content_type``, audited, and store nothing. Needs scope ``write``."""
    limit = state.settings.attachment_max_bytes
    data = file.file.read(limit + 1)
    with audited_refusal(
        state,
        principal,
        action="recommendation.attachment_refused",
        object_type="recommendation",
        object_id=name,
        detail={
            "filename": file.filename,
            "content_type": file.content_type,
            "size": len(data) if len(data) <= limit else f">{limit}",
        },
    ):
        upload = check_upload(file.filename, file.content_type, data, max_bytes=limit)
    store = store_of(state)
    with state.transaction() as session:
        rec = recommendations.get_by_name(session, name)
        row = recommendations.add_attachment(
            session, rec, upload, store=store, actor=principal.actor, now=utcnow()
        )
        out = AttachmentOut.model_validate(row)
        _audit(
            session,
            principal,
            "recommendation.attachment_added",
            name,
            out.model_dump(mode="json", exclude={"created_at"}),
        )
    # A concurrent delete of the last attachment with the same content may have removed the
    # file between our write and our commit; writing it again is cheap and idempotent.
    store.put(upload.sha256, upload.data)
    return out


@router.get(
    "/{name}/attachments/{attachment_id}",
    response_class=FileResponse,
    summary="Download an attachment",
    responses={**_NOT_FOUND, 200: {"description": "The file, as a download"}},
)
def download_attachment(
    name: str, attachment_id: int, _principal: Reading, state: State
) -> FileResponse:
    """Served as a download (``Content-Disposition: attachment``) with ``nosniff`` and a
    sandboxing Content-Security-Policy, so a browser never renders or runs it.
    Needs scope ``read``."""
    with state.reading() as session:
        row = recommendations.get_attachment(session, name, attachment_id)
        filename, content_type, digest = row.filename, row.content_type, row.sha256
    return FileResponse(
        store_of(state).open_path(digest),
        media_type=content_type,
        filename=filename,
        content_disposition_type="attachment",
        headers=SAFE_HEADERS,
    )


@router.delete(
    "/{name}/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove an attachment",
    responses=_NOT_FOUND,
)
def delete_attachment(name: str, attachment_id: int, principal: Changing, state: State) -> Response:
    """Needs scope ``write``."""
    with state.transaction() as session:
        row = recommendations.remove_attachment(session, name, attachment_id)
        digest = row.sha256
        _audit(
            session,
            principal,
            "recommendation.attachment_removed",
            name,
            {"id": attachment_id, "filename": row.filename, "sha256": digest},
        )
    _prune(state, [digest])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
