"""Render an action's argv templates with validated parameters.

Each template renders to exactly one argv element, so a parameter value can never become a
second argument, an option or shell syntax: the command runs without a shell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sophrosyne import templating
from sophrosyne.errors import FieldError, ValidationFailed


def render_argv(argv: Sequence[str], params: Mapping[str, Any]) -> list[str]:
    """The concrete argv; a failing element is reported as ``argv[i]``."""
    out: list[str] = []
    errors: list[FieldError] = []
    context = {"params": dict(params)}
    for i, element in enumerate(argv):
        try:
            out.append(templating.render(element, context))
        except templating.TemplateFailed as exc:
            errors.append(FieldError(("argv", i), str(exc)))
    if errors:
        raise ValidationFailed(errors)
    return out
