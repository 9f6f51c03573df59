"""Alertmanager-style label matchers: ``name="v"``, ``name!="v"``, ``name=~"re"``, ``name!~"re"``.

Semantics follow Alertmanager: regexes are anchored at both ends, and a missing label has the
value ``""`` (so ``team!=""`` means "has a team label").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s]*)\s*$"""
)
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


class MatcherSyntaxError(ValueError):
    """A matcher string could not be parsed; the message says why."""


@dataclass(frozen=True)
class Matcher:
    """One compiled matcher."""

    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.regex is not None
        hit = self.regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'

    def guarantees_label(self) -> bool:
        """True if every alert this matches has the label with a non-empty value."""
        if self.op == "=":
            return self.value != ""
        if self.op == "=~":
            return self.regex is not None and self.regex.fullmatch("") is None
        if self.op == "!=":
            return self.value == ""
        return self.regex is not None and self.regex.fullmatch("") is not None


def _unquote(raw: str) -> str:
    if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
        return raw
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def parse_matcher(text: str) -> Matcher:
    """Parse one matcher string; raise ``MatcherSyntaxError`` with the reason."""
    m = _MATCHER.match(text)
    if not m:
        raise MatcherSyntaxError(
            f"bad matcher {text!r}: expected name, one of = != =~ !~, and a value"
        )
    name, op, value = m["name"], m["op"], _unquote(m["value"])
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise MatcherSyntaxError(f"bad regular expression in {text!r}: {exc}") from exc
    return Matcher(name=name, op=op, value=value, regex=regex)


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def first_mismatch(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> Matcher | None:
    """The first matcher ``labels`` fail, or None when all match (an empty list matches all)."""
    for matcher in matchers:
        if not matcher.matches(labels):
            return matcher
    return None
