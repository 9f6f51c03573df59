"""Markdown and HTML written by people, made safe to show in a browser.

Instructions of recommendations and runbook articles are Markdown (CommonMark with tables and
strikethrough, rendered by markdown-it-py) or HTML. Either way the HTML shown is cleaned by nh3
(the Ammonia sanitiser) with an explicit allow-list: no scripts, styles, frames or forms, no
event-handler attributes, only ``http``, ``https`` and ``mailto`` URLs, and every link gets
``rel="noopener noreferrer"``.

Cleaning alone would hide an attack by quietly removing it; ``dangers`` finds what the cleaner
would remove for safety (a ``<script>``, an ``onerror=``, a ``javascript:`` link), so that a
definition containing one is refused with the field named instead of being stored.
Nothing is built at import: the renderer is made on first use.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from typing import Literal

import nh3
from markdown_it import MarkdownIt

Format = Literal["markdown", "html"]

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
        "li", "mark", "ol", "p", "pre", "s", "samp", "span", "strong", "sub", "summary", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
#: Removed with their content, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)
#: Tags whose mere presence is refused: they run code, load documents or submit data.
DANGEROUS_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
        "link", "meta", "form", "input", "button", "textarea", "select", "svg", "math",
        "template", "noscript",
    }
)  # fmt: skip
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "data", "xlink:href", "cite"}
)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
#: Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")


class _Markdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's name
        # markdown-it would silently turn a javascript: link into text; let it through so
        # that ``dangers`` can name it (and the sanitiser removes it in any case).
        return True


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return _Markdown("commonmark", {"html": True}).enable(["table", "strikethrough"])


def to_html(text: str, fmt: Format = "markdown") -> str:
    """The HTML that ``text`` stands for, *before* sanitising (never show this one)."""
    return _markdown().render(text) if fmt == "markdown" else text


def sanitize(html: str) -> str:
    """``html`` with everything outside the allow-list removed."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render(text: str, fmt: Format = "markdown") -> str:
    """Markdown or HTML from a person, as HTML safe to put in a page."""
    return sanitize(to_html(text, fmt))


def _url_scheme(value: str) -> str | None:
    compact = _IGNORED_IN_URL.sub("", value).lower()
    m = _SCHEME.match(compact)
    return m[1] if m else None


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def _add(self, what: str) -> None:
        if what not in self.found:
            self.found.append(what)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self._add(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self._add(f"{name}=")
            elif name == "srcdoc":
                self._add("srcdoc=")
            elif name in _URL_ATTRIBUTES and value:
                scheme = _url_scheme(value)
                if scheme is not None and scheme not in URL_SCHEMES:
                    self._add(f"{scheme}: URL")

    handle_startendtag = handle_starttag


def dangers(text: str, fmt: Format = "markdown") -> list[str]:
    """What in ``text`` could run code or leave the page: ``["<script>", "onerror=",
    "javascript: URL"]``; empty when it is safe to store."""
    finder = _Finder()
    finder.feed(to_html(text, fmt))
    finder.close()
    return finder.found


def danger_message(found: list[str]) -> str:
    """The refusal shown for ``dangers(...)``, naming what was found."""
    return (
        f"must not contain scripts, event handlers or unsafe links (found {', '.join(found)}); "
        f"allowed URL schemes are {', '.join(sorted(URL_SCHEMES))}"
    )
