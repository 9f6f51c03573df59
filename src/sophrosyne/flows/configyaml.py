"""Located YAML for config as code: parse a document keeping the line of every node, and turn
pydantic errors into problems that name a file, a line and a path.

PyYAML's data loses where it came from and keeps the last of two equal keys without a word;
here the composed node tree is walked next to the data, so every path such as
``("rules", 0, "matchers", 1)`` has a line, and repeated keys are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sophrosyne.errors import FieldError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One error or warning, located as precisely as the YAML allows (``line`` 0: unknown)."""

    file: str
    line: int
    loc: Loc
    message: str

    @property
    def where(self) -> str:
        return FieldError(self.loc, "").where()

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return f"{place}: {self.where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "loc": self.where, "message": self.message}


# --- YAML with line numbers -------------------------------------------------------------


def _walk(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    on_duplicate: Callable[[Loc, int, int], None],
    active: set[int],
) -> None:
    """Record the line of every path below ``node`` and report repeated mapping keys."""
    if id(node) in active:  # a recursive alias: its lines are already recorded
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            # PyYAML keeps the last of two equal keys without a word; we refuse them.
            if key in seen:
                on_duplicate((*loc, key), line, seen[key])
            else:
                seen[key] = line
            lines.setdefault((*loc, key), line)
            _walk(value_node, (*loc, key), lines, on_duplicate, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault((*loc, i), item.start_mark.line + 1)
            _walk(item, (*loc, i), lines, on_duplicate, active)
    active.discard(id(node))


def read_yaml(text: str, file: str, errors: list[Problem]) -> tuple[Any, dict[Loc, int]] | None:
    """Parse one document safely; None (and an error) if it is not valid YAML."""
    loader = yaml.SafeLoader(text)
    lines: dict[Loc, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        lines[()] = node.start_mark.line + 1

        def duplicate(loc: Loc, line: int, first: int) -> None:
            errors.append(Problem(file, line, loc, f"duplicate key (first at line {first})"))

        _walk(node, (), lines, duplicate, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{what} ({exc.context})"
        errors.append(Problem(file, mark.line + 1 if mark else 0, (), f"invalid YAML: {what}"))
        return None
    except yaml.YAMLError as exc:
        errors.append(Problem(file, 0, (), f"invalid YAML: {exc}"))
        return None
    finally:
        loader.dispose()
    return data, lines


# --- pydantic errors to located problems ---------------------------------------------------

#: "matchers[1]: bad matcher" / "argv[0] uses …": a validator naming a path in its message.
_MSG_PATH = re.compile(r"^(?P<path>[A-Za-z_]\w*(?:\[\d+\]|\.\w+)*)(?P<colon>:)?\s")
_PATH_PART = re.compile(r"\[(\d+)\]|\.?(\w+)")


def _split_message(loc: Loc, msg: str, fields: set[str]) -> tuple[Loc, str]:
    """Move a path that a validator wrote into its message (``matchers[1]: …``) into ``loc``."""
    m = _MSG_PATH.match(msg)
    if not m:
        return loc, msg
    parts: list[str | int] = [
        int(idx) if idx else name for idx, name in _PATH_PART.findall(m["path"])
    ]
    if not loc and parts[0] in fields:
        new_loc: Loc = tuple(parts)
    elif loc and parts[0] == loc[-1]:
        new_loc = (*loc[:-1], *parts)
    else:
        return loc, msg
    # "argv[0] uses …" reads as a sentence: keep it whole; "matchers[1]: why" loses the prefix.
    return new_loc, msg[m.end() :] if m["colon"] else msg


def model_problems(
    exc: ValidationError,
    model: type[BaseModel],
    base: Loc,
    file: str,
    lines: dict[Loc, int],
) -> list[Problem]:
    """``exc`` as problems under ``base`` (the item's path), one per place in the file."""
    merged: dict[Loc, list[str]] = {}
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc, msg = _split_message(loc, msg, set(model.model_fields))
        # Keep the part of the path that exists in the file; a missing field keeps its name.
        # Union members (``default.int``…) are not in the file, so they fold into one place.
        full = (*base, *loc)
        shown = full
        while len(shown) > len(base) and shown not in lines:
            shown = shown[:-1]
        if err["type"] == "missing" and len(full) > len(shown):
            shown = full[: len(shown) + 1]
        merged.setdefault(shown, [])
        if msg not in merged[shown]:
            merged[shown].append(msg)
    out = []
    for loc, msgs in merged.items():
        out.append(Problem(file, line_of(lines, loc), loc, "; ".join(msgs)))
    return out


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of ``loc``, or of its nearest enclosing node that exists (0: unknown)."""
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get((), 0)
