"""What a notification is about (``Subject``), severity order, and message templates.

A subject is plain data (an incident, an alert or a run), so callers need not share models
with this domain. Templates render in the project's Jinja sandbox with ``subject``,
``labels``, ``link`` and ``event``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sophrosyne import templating

SubjectKind = Literal["incident", "alert", "run"]

#: Known severities, lowest first. An unknown severity is never held back by a minimum.
SEVERITIES = ("info", "warning", "error", "critical")
_ALIASES = {"page": "critical", "high": "error", "medium": "warning", "low": "info"}

DEFAULT_TITLE = "[{{ subject.severity | upper }}] {{ subject.title }}"
DEFAULT_BODY = (
    "{{ subject.kind | capitalize }} {{ subject.id }} is {{ subject.status }}: "
    "{{ subject.title }}\n"
    "Severity: {{ subject.severity }}\n"
    "{% for k, v in labels | dictsort %}{{ k }}={{ v }}\n{% endfor %}"
    "{% if event != 'triggered' %}({{ event }})\n{% endif %}"
    "{{ link }}\n"
)


@dataclass(frozen=True)
class Subject:
    """What is being notified about."""

    kind: SubjectKind
    id: str
    title: str
    severity: str | None = None
    status: str = "triggered"
    labels: Mapping[str, str] = field(default_factory=dict)
    #: A link back; built from ``SOPHROSYNE_PUBLIC_URL`` when empty.
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = dict(self.labels)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Subject:
        return cls(
            kind=data["kind"],
            id=str(data["id"]),
            title=str(data.get("title", "")),
            severity=data.get("severity"),
            status=str(data.get("status", "triggered")),
            labels={str(k): str(v) for k, v in dict(data.get("labels") or {}).items()},
            url=data.get("url"),
        )


def severity_rank(value: str | None) -> int | None:
    """The position of ``value`` in ``SEVERITIES`` (aliases allowed); None if unknown."""
    if value is None:
        return None
    name = _ALIASES.get(value.lower(), value.lower())
    return SEVERITIES.index(name) if name in SEVERITIES else None


def below_minimum(severity: str | None, minimum: str | None) -> bool:
    """True when a known ``severity`` is lower than ``minimum``."""
    if minimum is None:
        return False
    rank, floor = severity_rank(severity), severity_rank(minimum)
    return rank is not None and floor is not None and rank < floor


def link(subject: Subject, public_url: str) -> str:
    """The subject's own URL, or ``<public_url>/<kind>s/<id>``."""
    if subject.url:
        return subject.url
    return f"{public_url.rstrip('/')}/{subject.kind}s/{subject.id}"


def render(
    subject: Subject,
    *,
    public_url: str,
    event: str = "triggered",
    title_template: str | None = None,
    body_template: str | None = None,
) -> tuple[str, str]:
    """(title, body); ``templating.TemplateFailed`` if a template is wrong."""
    data = subject.as_dict()
    data["severity"] = subject.severity or "unknown"
    context = {"subject": data, "labels": data["labels"], "link": link(subject, public_url)}
    context["event"] = event
    title = templating.render(title_template or DEFAULT_TITLE, context)
    body = templating.render(body_template or DEFAULT_BODY, context)
    return " ".join(title.split())[:250], body
