"""Checks of a recommendation beyond its schema: instructions that are unsafe to show."""

from __future__ import annotations

from sophrosyne import markup
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.errors import FieldError


def spec_problems(spec: RecommendationSpec) -> list[FieldError]:
    """Every unsafe field of ``spec`` (scripts, event handlers, javascript: links), by field."""
    found = markup.dangers(spec.instructions, spec.instructions_format)
    if not found:
        return []
    return [FieldError(("instructions",), markup.danger_message(found))]
