"""The project's own errors.

Business code raises these; exactly one place (``api.errors``) maps them to HTTP status codes,
and the CLI maps them to exit codes. Each carries enough to tell a user which field was wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``loc`` is the path to it, e.g. ``("alerts", 3, "labels")``."""

    loc: tuple[str | int, ...]
    msg: str

    def where(self) -> str:
        """The location as a dotted path, e.g. ``alerts[3].labels``."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out or "(root)"


class SophrosyneError(Exception):
    """Base of every error raised on purpose by Sophrosyne."""


class ValidationFailed(SophrosyneError):
    """Input was rejected; ``errors`` names every field that was wrong."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.where()}: {e.msg}" for e in self.errors))

    @classmethod
    def single(cls, loc: tuple[str | int, ...], msg: str) -> ValidationFailed:
        return cls([FieldError(loc, msg)])


class NotFound(SophrosyneError):
    """The object asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class Conflict(SophrosyneError):
    """The request clashes with the current state (a name taken, an illegal transition, …)."""


class ReadOnly(Conflict):
    """The object is managed by configuration files and cannot be changed through the API."""

    @classmethod
    def unless_owner(cls, kind: str, name: str, owner: str, caller: str) -> None:
        """Raise unless ``caller`` (``api`` or ``file``) manages the object it wants to change."""
        if owner != caller:
            raise cls(f"{kind} {name!r} is managed by {owner}; change it there")


class Unauthorized(SophrosyneError):
    """No valid credentials were presented."""


class Forbidden(SophrosyneError):
    """Valid credentials, but not allowed to do this."""
