"""Checks of an uploaded attachment, before a byte of it is stored.

Only a few harmless types are accepted (plain text, PDF, PNG, JPEG); HTML, SVG and scripts are
refused because a browser could run them. Three things must agree: the extension of the file
name, the declared content type, and the type sniffed from the content's first bytes, so a page
of HTML named ``photo.png`` and sent as ``image/png`` is refused. A file name that carries a
path (``../../etc/x.png``, ``C:\\x.png``) is refused, not trimmed: the sender meant something
else. Each refusal names the field: ``file`` (content, size), ``file.filename``,
``file.content_type``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from sophrosyne.errors import FieldError, ValidationFailed

#: Content type → the extensions a file of that type may have.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "text/plain": (".txt", ".log", ".md"),
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
ALLOWED_EXTENSIONS = frozenset(ext for exts in ALLOWED_TYPES.values() for ext in exts)
#: Refused with a reason of their own: a browser would run them.
ACTIVE_EXTENSIONS = frozenset(
    {".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".js", ".mjs", ".xml", ".xsl"}
)
FILENAME_MAX = 255

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
#: What a sniffing browser takes for markup at the start of a document.
_MARKUP_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe|frameset|"
    rb"meta|style|title|img|a\s|div|table|p\b|br\b|b\b|font|!--)",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {
    "text/plain": "plain text",
    "text/html": "HTML",
    "application/pdf": "a PDF document",
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
}


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check, ready to be stored."""

    filename: str
    content_type: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The type the content itself says it is: a known magic number, HTML, plain UTF-8 text,
    or None for anything else."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if _MARKUP_START.match(data[:1024]):
        return "text/html"
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def _filename_problem(name: str) -> str | None:
    if not name or not name.strip():
        return "is empty"
    if "/" in name or "\\" in name or name in (".", ".."):
        return f"must be a bare file name without a path; got {name!r}"
    if _CONTROL.search(name):
        return "must not contain control characters"
    if len(name.encode("utf-8")) > FILENAME_MAX:
        return f"is longer than {FILENAME_MAX} bytes"
    return None


def _extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def check_upload(
    filename: str | None, declared_type: str | None, data: bytes, *, max_bytes: int
) -> CheckedFile:
    """The upload as a ``CheckedFile``, or ``ValidationFailed`` listing every problem."""
    errors: list[FieldError] = []
    name = filename or ""
    problem = _filename_problem(name)
    ext = _extension(name) if problem is None else ""
    allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
    if problem is None:
        if ext in ACTIVE_EXTENSIONS:
            problem = (
                f"{ext} files are refused: HTML, SVG and scripts could run in a browser; "
                f"allowed: {allowed}"
            )
        elif ext not in ALLOWED_EXTENSIONS:
            problem = f"must end in one of {allowed}; got {ext or 'no extension'}"
    if problem is not None:
        errors.append(FieldError(("file", "filename"), problem))

    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in ALLOWED_TYPES:
        errors.append(
            FieldError(
                ("file", "content_type"),
                f"must be one of {', '.join(sorted(ALLOWED_TYPES))}; got {declared or 'none'}",
            )
        )
    elif problem is None and ext not in ALLOWED_TYPES[declared]:
        errors.append(
            FieldError(
                ("file", "content_type"),
                f"is {declared} but the file name ends in {ext}",
            )
        )

    if not data:
        errors.append(FieldError(("file",), "is empty"))
    elif len(data) > max_bytes:
        errors.append(FieldError(("file",), f"is larger than the limit of {max_bytes} bytes"))
    elif declared in ALLOWED_TYPES:
        sniffed = sniff(data)
        if sniffed != declared:
            what = _NAMES.get(sniffed or "", "of an unknown type")
            errors.append(
                FieldError(
                    ("file",),
                    f"content is {what}, not {_NAMES[declared]} as declared",
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return CheckedFile(
        filename=name,
        content_type=declared,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
