"""Which incident an alert belongs to: pure functions, no database.

A grouping rule is matchers (Alertmanager syntax, ``domains.rules.matching``), the labels to
group by, and a window in seconds. The first rule whose matchers match an alert's labels
decides its group key: the rule's name and the values of its group-by labels (a missing label
counts as the empty string, as in Alertmanager). A firing alert joins the newest open incident
with the same group key that was opened within the window; otherwise it opens a new incident.

The default rule groups by ``alertname``, ``cluster``, ``namespace`` and ``service``: the
labels of Alertmanager's own example routing tree (``group_by: [alertname, cluster,
service]``) plus Kubernetes' namespace, so an outage of one service in one cluster is one
incident however many instances fire, while two services or two clusters stay apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sophrosyne.config import Settings
from sophrosyne.domains.rules.matching import Matcher, first_mismatch

DEFAULT_RULE_NAME = "default"
DEFAULT_GROUP_BY: tuple[str, ...] = ("alertname", "cluster", "namespace", "service")
DEFAULT_WINDOW_SECONDS = 3600
#: Longest group key stored; longer ones are shortened with a hash (still unique in practice).
KEY_MAX = 255

#: Severity words from worst to mildest; an unknown word ranks just after ``warning``.
SEVERITY_ORDER: tuple[str, ...] = (
    "critical",
    "high",
    "error",
    "major",
    "warning",
    "medium",
    "minor",
    "low",
    "info",
    "none",
)
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}
_UNKNOWN_RANK = _RANK["warning"] + 0.5


@dataclass(frozen=True)
class GroupingRule:
    name: str = DEFAULT_RULE_NAME
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    auto_resolve: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        return first_mismatch(self.matchers, labels) is None

    def key(self, labels: Mapping[str, str]) -> str:
        """The group key of ``labels`` under this rule."""
        values = ",".join(f"{n}={labels.get(n, '')}" for n in self.group_by)
        key = f"{self.name}|{values}"
        if len(key) <= KEY_MAX:
            return key
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{key[: KEY_MAX - 66]}#{digest}"

    def title(self, labels: Mapping[str, str]) -> str:
        """A readable title: the alert name, then the other group-by labels that are set."""
        head = labels.get("alertname") or "Alerts"
        rest = [f"{n}={labels[n]}" for n in self.group_by if n != "alertname" and labels.get(n)]
        text = f"{head} ({', '.join(rest)})" if rest else head
        return text[:300]


def default_rule(settings: Settings) -> GroupingRule:
    """The default rule as the settings (``SOPHROSYNE_INCIDENT_*``) make it."""
    labels = tuple(dict.fromkeys(n.strip() for n in settings.incident_group_by.split(",")))
    return GroupingRule(
        group_by=tuple(n for n in labels if n) or DEFAULT_GROUP_BY,
        window_seconds=settings.incident_window_seconds,
        auto_resolve=settings.incident_auto_resolve,
    )


@dataclass(frozen=True)
class Grouping:
    """The rules in order, then the default rule that takes what none of them matched."""

    rules: Sequence[GroupingRule] = ()
    default: GroupingRule = field(default_factory=GroupingRule)

    def rule_for(self, labels: Mapping[str, str]) -> GroupingRule:
        for rule in self.rules:
            if rule.matches(labels):
                return rule
        return self.default


@dataclass(frozen=True)
class OpenIncident:
    id: int
    group_key: str
    opened_at: datetime
    severity: str | None


def pick(
    candidates: Sequence[OpenIncident], rule: GroupingRule, now: datetime
) -> OpenIncident | None:
    """The newest open incident (of one group key) opened within the rule's window."""
    since = now - timedelta(seconds=rule.window_seconds)
    fitting = [c for c in candidates if c.opened_at >= since]
    return max(fitting, key=lambda c: (c.opened_at, c.id)) if fitting else None


def severity_rank(severity: str | None) -> float:
    """Lower is worse; no severity ranks last."""
    if not severity:
        return len(SEVERITY_ORDER)
    return _RANK.get(severity.lower(), _UNKNOWN_RANK)


def worst(*severities: str | None) -> str | None:
    """The worst of ``severities`` (the first of equals), or None if all are None."""
    given = [s for s in severities if s]
    return min(given, key=severity_rank) if given else None
