"""Attachment checks: only harmless types, and name, declared type and content must agree."""

from __future__ import annotations

import pytest

from sophrosyne.domains.recommendations.attachments import check_upload, sniff
from sophrosyne.errors import ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


def refusal(filename: str | None, declared: str | None, data: bytes, limit: int = 1024) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        check_upload(filename, declared, data, max_bytes=limit)
    return {e.where(): e.msg for e in caught.value.errors}


@pytest.mark.parametrize(
    ("name", "declared", "data"),
    [
        ("disk.png", "image/png", PNG),
        ("photo.JPG", "image/jpeg", JPEG),
        ("photo.jpeg", "image/jpeg; charset=binary", JPEG),
        ("manual.pdf", "application/pdf", PDF),
        ("notes.txt", "text/plain", "Remplacer le disque ✓\n".encode()),
        ("dmesg.log", "text/plain; charset=utf-8", b"[0.0] sda: I/O error\n"),
    ],
)
def test_accepted_uploads(name: str, declared: str, data: bytes) -> None:
    checked = check_upload(name, declared, data, max_bytes=1024)
    assert checked.filename == name
    assert checked.content_type == declared.split(";", maxsplit=1)[0]
    assert checked.size == len(data) and len(checked.sha256) == 64


def test_oversized_is_refused_naming_the_file() -> None:
    assert refusal("big.txt", "text/plain", b"x" * 1025) == {
        "file": "is larger than the limit of 1024 bytes"
    }


def test_empty_is_refused() -> None:
    assert refusal("empty.txt", "text/plain", b"") == {"file": "is empty"}


@pytest.mark.parametrize("name", ["page.html", "page.HTM", "logo.svg", "x.js", "feed.xml"])
def test_active_types_are_refused_by_extension(name: str) -> None:
    errors = refusal(name, "text/plain", b"hello")
    assert "could run in a browser" in errors["file.filename"]


def test_disguised_png_that_is_really_html() -> None:
    errors = refusal("disk.png", "image/png", HTML)
    assert errors == {"file": "content is HTML, not a PNG image as declared"}


def test_text_that_starts_like_html_is_refused() -> None:
    errors = refusal("notes.txt", "text/plain", b"  <html><body>hi</body></html>")
    assert errors == {"file": "content is HTML, not plain text as declared"}


def test_declared_type_must_match_the_extension() -> None:
    errors = refusal("manual.pdf", "image/png", PNG)
    assert errors == {"file.content_type": "is image/png but the file name ends in .pdf"}


def test_sniffed_type_must_match_the_declared_one() -> None:
    errors = refusal("scan.pdf", "application/pdf", PNG)
    assert errors == {"file": "content is a PNG image, not a PDF document as declared"}


def test_unknown_declared_type_is_refused() -> None:
    errors = refusal("a.txt", "text/html", b"hi")
    assert errors["file.content_type"].startswith("must be one of application/pdf")
    assert "text/html" in errors["file.content_type"]


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.txt", "dir/disk.png", "C:\\Users\\me\\disk.png", "..", "/abs.txt"]
)
def test_a_path_in_the_name_is_refused_not_trimmed(name: str) -> None:
    errors = refusal(name, "text/plain", b"hello")
    assert "without a path" in errors["file.filename"], errors


def test_control_characters_and_missing_names_are_refused() -> None:
    assert "control characters" in refusal("a\nb.txt", "text/plain", b"x")["file.filename"]
    assert refusal(None, "text/plain", b"x")["file.filename"] == "is empty"


def test_binary_garbage_is_not_text() -> None:
    assert sniff(b"\x00\x01\x02") is None
    assert sniff(b"\xff\xfe\xfd") is None
    errors = refusal("a.txt", "text/plain", b"\xff\xfe\xfd")
    assert errors == {"file": "content is of an unknown type, not plain text as declared"}


def test_every_problem_is_listed_at_once() -> None:
    errors = refusal("../x.html", "application/x-sh", b"")
    assert set(errors) == {"file.filename", "file.content_type", "file"}
