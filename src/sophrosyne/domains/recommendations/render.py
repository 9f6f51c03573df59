"""Render a recommendation for one occasion: typed parameters in, title and safe HTML out.

Parameter values come from alerts, which anyone able to reach the ingest API can send, so they
are data, never markup: they are HTML-escaped before they enter the instructions, and the
result is sanitised again as a whole.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sophrosyne import markup, templating
from sophrosyne.domains.actions import params as typed_params
from sophrosyne.domains.recommendations.schemas import TITLE_MAX
from sophrosyne.errors import FieldError, ValidationFailed
from sophrosyne.markup import Format


@dataclass(frozen=True)
class Rendered:
    """A recommendation made concrete: what a task keeps as its snapshot."""

    title: str
    instructions: str
    instructions_html: str
    params: dict[str, str | int | bool]


def render(
    *,
    title: str,
    instructions: str,
    fmt: Format,
    parameters: Sequence[Mapping[str, Any]],
    raw: Mapping[str, Any],
) -> Rendered:
    """Validate ``raw`` against ``parameters`` and render; ``ValidationFailed`` names the
    parameter (``params.NAME``) or the template (``title`` / ``instructions``) that failed."""
    typed = typed_params.validate(parameters, raw)
    escaped = {k: html.escape(v) if isinstance(v, str) else v for k, v in typed.items()}
    errors: list[FieldError] = []
    out: dict[str, str] = {}
    for field, source, values in (
        ("title", title, typed),
        ("instructions", instructions, escaped),
    ):
        try:
            out[field] = templating.render(source, {"params": values})
        except templating.TemplateFailed as exc:
            errors.append(FieldError((field,), str(exc)))
    if errors:
        raise ValidationFailed(errors)
    shown_title = " ".join(out["title"].split())[:TITLE_MAX]
    return Rendered(
        title=shown_title,
        instructions=out["instructions"],
        instructions_html=markup.render(out["instructions"], fmt),
        params=dict(typed),
    )
