"""Markdown and HTML from people: what is shown is sanitised, and what is dangerous is named."""

from __future__ import annotations

import pytest

from sophrosyne import markup


def test_markdown_renders_tables_and_safe_links() -> None:
    html = markup.render("# Disk\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://e.org/x)")
    assert "<h1>Disk</h1>" in html and "<td>1</td>" in html
    assert '<a href="https://e.org/x" rel="noopener noreferrer">docs</a>' in html


@pytest.mark.parametrize(
    ("source", "fmt", "gone"),
    [
        ("hi <script>alert(1)</script> there", "markdown", ["<script", "alert(1)"]),
        ('<img src="x.png" onerror="alert(1)">', "markdown", ["onerror", "alert"]),
        ("[click](javascript:alert(1))", "markdown", ["javascript:", "href"]),
        ('<a href="jav&#x09;ascript:alert(1)">x</a>', "html", ["javascript", "href"]),
        ('<p onclick="steal()">x</p><style>body{}</style>', "html", ["onclick", "steal", "body{"]),
    ],
)
def test_sanitiser_removes_scripts_handlers_and_javascript_links(
    source: str, fmt: markup.Format, gone: list[str]
) -> None:
    html = markup.render(source, fmt)
    for needle in gone:
        assert needle not in html, html


def test_every_link_gets_noopener_even_if_it_asked_otherwise() -> None:
    html = markup.render('<a href="https://x.org" rel="opener" target="_blank">x</a>', "html")
    assert html == '<a href="https://x.org" rel="noopener noreferrer">x</a>'


def test_frames_and_forms_vanish_with_their_content() -> None:
    source = '<iframe src="https://evil"></iframe><form action="/x"><input></form>'
    assert markup.render(source, "html") == ""


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<script>alert(1)</script>", ["<script>"]),
        ("![x](y.png) <img src=y onerror=alert(1)>", ["onerror="]),
        ("[a](javascript:alert(1))", ["javascript: URL"]),
        ("[a](JaVa\tScRiPt:alert(1))", []),  # not a link in Markdown: shown as text
        ('<a href="&#106;avascript:alert(1)">a</a>', ["javascript: URL"]),
        ('<a href=" vbscript:x">a</a>', ["vbscript: URL"]),
        ("![a](data:image/png;base64,AAAA)", ["data: URL"]),
        ("<svg><circle/></svg>", ["<svg>"]),
    ],
)
def test_dangers_names_what_would_be_removed(source: str, found: list[str]) -> None:
    assert markup.dangers(source) == found


def test_plain_runbooks_are_not_dangerous() -> None:
    text = (
        "## Steps\n\n1. `df -h /var`\n2. See [the wiki](https://wiki/x) or mail "
        "[ops](mailto:ops@example.org)\n\n<details><summary>more</summary>x</details>"
    )
    assert markup.dangers(text) == []
    assert "<details>" in markup.render(text)


def test_danger_message_names_findings_and_allowed_schemes() -> None:
    msg = markup.danger_message(["<script>", "onerror="])
    assert "<script>, onerror=" in msg and "http, https, mailto" in msg
