"""Render an action with validated parameters into exactly what will run.

Every value keeps its shape: an argv template renders to exactly one argv element (so a
value can never become a second argument, an option or shell syntax; remote executors quote
each element as one word); a value placed in a URL is percent-encoded (it cannot add a path
segment, a query parameter or change the host); a header value may not break the line; a
script's values arrive only as positional arguments; a playbook's only as extra vars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from sophrosyne import templating
from sophrosyne.domains.rules.targeting import TargetView
from sophrosyne.errors import FieldError, ValidationFailed

_FORBIDDEN_IN_HEADER = re.compile(r"[\r\n\0]")


@dataclass
class Rendered:
    """The concrete run: ``argv`` for shell and ssh, ``request`` for the other kinds."""

    argv: list[str] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)


def render_argv(argv: Sequence[str], params: Mapping[str, Any]) -> list[str]:
    """The concrete argv; a failing element is reported as ``argv[i]``."""
    return _render_list("argv", argv, {"params": dict(params)})


def _render_list(where: str, items: Sequence[str], context: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    errors: list[FieldError] = []
    for i, element in enumerate(items):
        try:
            out.append(templating.render(element, context))
        except templating.TemplateFailed as exc:
            errors.append(FieldError((where, i), str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return out


def _render(loc: tuple[str | int, ...], source: str, context: Mapping[str, Any]) -> str:
    try:
        return templating.render(source, context)
    except templating.TemplateFailed as exc:
        raise ValidationFailed.single(loc, str(exc)) from None


def authority_end(url: str) -> int:
    """Index where the host part of a URL template ends (the first "/", "?" or "#" after
    "://" that is not inside a ``{{ }}``)."""
    start = url.find("://")
    i = start + 3 if start >= 0 else 0
    depth = 0
    while i < len(url):
        if url.startswith("{{", i):
            depth += 1
            i += 2
            continue
        if url.startswith("}}", i) and depth:
            depth -= 1
            i += 2
            continue
        if depth == 0 and url[i] in "/?#":
            return i
        i += 1
    return len(url)


def _encoded(value: Any) -> str:
    text = templating.render("{{ v }}", {"v": value}) if isinstance(value, bool) else str(value)
    # safe="" encodes "/" "?" "&" "#"; dots too, so "." or ".." never form a dot-segment.
    return quote(text, safe="").replace(".", "%2E")


def render_url(
    template: str, params: Mapping[str, Any], target: TargetView | None, query: Mapping[str, str]
) -> str:
    """The URL: the host part may use only ``target`` (the inventory, never the alert); every
    value after it is percent-encoded; ``query`` values are added encoded."""
    cut = authority_end(template)
    head, tail = template[:cut], template[cut:]
    target_ctx = target.template_context() if target is not None else None
    head_ctx: dict[str, Any] = {"target": target_ctx} if target_ctx else {}
    host = _render(("http", "url"), head, head_ctx)
    encoded_target = (
        {k: _encoded(v) for k, v in target_ctx.items() if k != "labels"} if target_ctx else None
    )
    tail_ctx: dict[str, Any] = {"params": {k: _encoded(v) for k, v in params.items()}}
    if encoded_target:
        tail_ctx["target"] = encoded_target
    path = _render(("http", "url"), tail, tail_ctx)
    url = host + path
    context = _context(params, target)
    added = {k: _render(("http", "query", k), v, context) for k, v in query.items()}
    if added:
        url += ("&" if "?" in url else "?") + urlencode(list(added.items()), quote_via=quote)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.single(("http", "url"), f"not an http(s) URL with a host: {url!r}")
    return url


def _context(params: Mapping[str, Any], target: TargetView | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {"params": dict(params)}
    if target is not None:
        ctx["target"] = target.template_context()
    return ctx


def render_http(
    section: Mapping[str, Any], params: Mapping[str, Any], targets: Sequence[TargetView]
) -> dict[str, Any]:
    """One call per target (or one call with no target), each fully rendered."""
    calls = []
    chosen: Sequence[TargetView | None] = targets or [None]
    for target in chosen:
        context = _context(params, target)
        headers = {}
        for name, source in (section.get("headers") or {}).items():
            value = _render(("http", "headers", name), source, context)
            if _FORBIDDEN_IN_HEADER.search(value):
                raise ValidationFailed.single(
                    ("http", "headers", name), "value contains a line break or NUL"
                )
            headers[name] = value
        body = section.get("body")
        calls.append(
            {
                "target": target.name if target else None,
                "method": section.get("method", "POST"),
                "url": render_url(section["url"], params, target, section.get("query") or {}),
                "headers": headers,
                "body": _render(("http", "body"), body, context) if body is not None else None,
            }
        )
    keep = ("expected_status", "verify_tls", "follow_redirects", "auth")
    return {"calls": calls, **{k: section[k] for k in keep if k in section}}


def render_action(
    kind: str,
    argv: Sequence[str],
    section: Mapping[str, Any],
    params: Mapping[str, Any],
    targets: Sequence[TargetView] = (),
) -> Rendered:
    """Everything a run of this action needs, rendered; ``ValidationFailed`` names the field."""
    common = {
        k: section[k] for k in ("sudo", "connect_timeout_seconds", "parallelism") if k in section
    }
    if kind == "shell":
        return Rendered(argv=render_argv(argv, params))
    if kind == "ssh":
        return Rendered(argv=render_argv(argv, params), request=common)
    if kind == "script":
        script = section["script"]
        args = _render_list("script.args", script.get("args") or [], {"params": dict(params)})
        return Rendered(request={**common, **script, "args": args})
    if kind == "http":
        return Rendered(request=render_http(section["http"], params, targets))
    if kind == "ansible":
        return Rendered(request={**section["ansible"], "extra_vars": dict(params)})
    raise ValidationFailed.single(("kind",), f"unknown action kind {kind!r}")
