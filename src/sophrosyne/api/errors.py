"""The one place where the project's errors become HTTP answers.

Every 4xx body has FastAPI's shape: ``{"detail": "message"}``, or for invalid input
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}`` listing every wrong field.

``loc`` is the path to the wrong value *inside the request body* (``["alerts", 0, "labels"]``,
``["params", "host"]``), the convention of :class:`sophrosyne.errors.FieldError`. FastAPI's own
validation errors are rewritten to match (their leading ``"body"`` is dropped); query, path and
header parameters keep their prefix (``["query", "limit"]``). A body that is not JSON at all is
reported at ``["body"]`` with type ``json_invalid``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pydantic
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from sophrosyne.domains.runs.states import IllegalTransition
from sophrosyne.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ReadOnly,
    SophrosyneError,
    Unauthorized,
    ValidationFailed,
)
from sophrosyne.logging import get_logger

log = get_logger(__name__)

#: The auth failures every protected route can answer, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials: token unknown, revoked or expired; session ended"},
    403: {"description": "Lacks the permission named in the message (or X-CSRF-Token)"},
}

_READ_ONLY_HINT = (
    "objects managed by configuration files cannot be changed through the API; "
    "edit the file and apply it"
)


class PayloadInvalid(ValidationFailed):
    """``ValidationFailed`` for a body the edge parsed itself, keeping pydantic's error types
    (``missing``, ``string_type``, ``json_invalid``…) so replies match FastAPI's own."""

    def __init__(self, errors: Sequence[FieldError], kinds: Sequence[str]) -> None:
        super().__init__(errors)
        self.kinds = list(kinds)


def field_errors_detail(exc: ValidationFailed) -> list[dict[str, Any]]:
    kinds = exc.kinds if isinstance(exc, PayloadInvalid) else ["value_error"] * len(exc.errors)
    return [
        {"loc": list(e.loc), "msg": e.msg, "type": kind}
        for e, kind in zip(exc.errors, kinds, strict=True)
    ]


def from_pydantic(exc: pydantic.ValidationError) -> PayloadInvalid:
    """A pydantic error as ``ValidationFailed``, every failing field kept with its path."""
    errors = exc.errors(include_url=False)
    return PayloadInvalid(
        [FieldError(tuple(err["loc"]), err["msg"]) for err in errors],
        [err["type"] for err in errors],
    )


def parse_json(body: bytes) -> Any:
    """Decode a request body with orjson; a clear ``ValidationFailed`` if it is not JSON."""
    if not body.strip():
        msg = "request body is empty; expected JSON"
    else:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            msg = f"request body is not valid JSON: {exc}"
    raise PayloadInvalid([FieldError(("body",), msg)], ["json_invalid"])


def _rewrite(err: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(err.get("type", "value_error"))
    if kind == "json_invalid":
        reason = (err.get("ctx") or {}).get("error", "decode error")
        where = err.get("loc", ())
        at = f" at position {where[1]}" if len(where) > 1 else ""
        return {
            "loc": ["body"],
            "msg": f"request body is not valid JSON: {reason}{at}",
            "type": kind,
        }
    loc: Sequence[Any] = list(err.get("loc", ()))
    if len(loc) > 1 and loc[0] == "body":
        loc = loc[1:]
    return {"loc": list(loc), "msg": str(err.get("msg", "")), "type": kind}


def _status_and_detail(exc: SophrosyneError) -> tuple[int, Any, dict[str, str]]:
    if isinstance(exc, ValidationFailed):
        return 422, field_errors_detail(exc), {}
    if isinstance(exc, NotFound):
        return 404, str(exc), {}
    if isinstance(exc, ReadOnly):
        return 409, f"read-only: {exc}. {_READ_ONLY_HINT.capitalize()}.", {}
    if isinstance(exc, Conflict):
        return 409, str(exc), {}
    if isinstance(exc, Unauthorized):
        return 401, str(exc) or "authentication required", {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, Forbidden):
        return 403, str(exc) or "forbidden", {}
    log.error("api.unmapped_error", error_type=type(exc).__name__, error=str(exc))
    return 500, "internal error", {}


async def _sophrosyne_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SophrosyneError)
    status, detail, headers = _status_and_detail(exc)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers or None)


async def _illegal_transition(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Two requests racing to create the same name: the loser hits a unique constraint.
    log.warning("api.integrity_error", path=request.url.path, error=str(exc).splitlines()[0])
    return JSONResponse(
        {"detail": "the change conflicts with data stored meanwhile; retry"}, status_code=409
    )


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [_rewrite(e) for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(SophrosyneError, _sophrosyne_error)
    app.add_exception_handler(IllegalTransition, _illegal_transition)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
