"""Sandboxed Jinja2 rendering shared by rules (parameters from alerts) and actions (argv).

Templates are compiled once and cached by source text; rendering an undefined name raises
``TemplateFailed`` naming the missing variable instead of rendering an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateFailed(Exception):
    """A template could not be compiled or rendered; ``str()`` says why."""


def _finalize(value: Any) -> Any:
    # Booleans render as the words most command-line tools expect.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@lru_cache(maxsize=1)
def _env() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, finalize=_finalize, keep_trailing_newline=True
    )


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    try:
        return _env().from_string(source)
    except TemplateError as exc:
        raise TemplateFailed(f"template syntax error: {exc}") from exc


def check_syntax(source: str) -> None:
    """Raise ``TemplateFailed`` if ``source`` is not a valid template."""
    _compile(source)


def is_template(source: str) -> bool:
    return "{{" in source or "{%" in source


#: ``{{ root.name }}`` alone: by far the commonest template, looked up without Jinja.
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\}\}")


@lru_cache(maxsize=4096)
def _simple_lookup(source: str) -> tuple[str, str] | None:
    m = _SIMPLE.fullmatch(source)
    return (m[1], m[2]) if m else None


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context`` in the sandbox; plain strings pass through.

    A bare ``{{ root.name }}`` over a mapping is a dictionary lookup with the same result and
    the same StrictUndefined error as Jinja would give, at a fraction of the cost.
    """
    if not is_template(source):
        return source
    simple = _simple_lookup(source)
    if simple is not None:
        root, name = simple
        scope = context.get(root)
        if isinstance(scope, Mapping) and not name.startswith("_"):
            if name not in scope:
                raise TemplateFailed(f"undefined: 'dict object' has no attribute '{name}'")
            value = _finalize(scope[name])
            return str(value)
    try:
        return str(_compile(source).render(context))
    except UndefinedError as exc:
        raise TemplateFailed(f"undefined: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateFailed(str(exc)) from exc
    except Exception as exc:
        raise TemplateFailed(f"{type(exc).__name__}: {exc}") from exc


def attribute_references(source: str, root: str) -> set[str]:
    """Names used as ``root.NAME`` or ``root['NAME']`` in ``source`` (for static checks)."""
    try:
        ast = _env().parse(source)
    except TemplateError as exc:
        raise TemplateFailed(f"template syntax error: {exc}") from exc
    found: set[str] = set()
    for attr in ast.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name == root:
            found.add(attr.attr)
    for item in ast.find_all(nodes.Getitem):
        if (
            isinstance(item.node, nodes.Name)
            and item.node.name == root
            and isinstance(item.arg, nodes.Const)
            and isinstance(item.arg.value, str)
        ):
            found.add(item.arg.value)
    return found


def undeclared_names(source: str) -> set[str]:
    """Top-level variables ``source`` reads (``labels``, ``params``…)."""
    try:
        return set(meta.find_undeclared_variables(_env().parse(source)))
    except TemplateError as exc:
        raise TemplateFailed(f"template syntax error: {exc}") from exc
