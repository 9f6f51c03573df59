"""The alert fatigue score, pure: facts about one alert signature over a window in, a 0-100
score with the points of each component and rule-chosen recommendations out.

**Signature.** An alert *rule*: the alert's source and its ``alertname`` label. Thresholds,
``for:`` and ``keep_firing_for`` live on the rule, so that is where a recommendation can be
applied; scoring each fingerprint instead would repeat one advice per instance. Alerts without
an ``alertname`` share the signature ``(no alertname)`` of their source.

**Firing.** One episode of an alert that started firing in the window (a new alert, or a
resolved one firing again). Re-sends of a firing alert are not firings.

**Components** (each a number from 0 to 1):

==============  =====  ==================================================================
component       weight value
==============  =====  ==================================================================
frequency       30     firings per day *f*: 0 up to one a day, then ln(f) / ln(24), capped
                       at 1 (24 a day, once an hour, is full)
never_acted     25     share of firings with no run, no task and no acknowledged incident
short_lived     20     share of the resolved firings that lasted under 5 minutes
flapping        15     share of firings flagged flapping (Nagios percent state change)
held_back       10     share of firings silenced or inhibited
==============  =====  ==================================================================

**Score** = 30 x frequency + volume x (25 x never_acted + 20 x short_lived + 15 x flapping
+ 10 x held_back), where volume = min(1, firings / 5): a rule that fired once or twice in the
window cannot be a big source of fatigue whatever its shares. Each component's points are
reported; they add up to the score (rounded to one decimal).

**Team score**: the mean of the signatures' scores weighted by their firings, so the rules
that make most of the noise weigh most.

**Recommendations**, by rule, in this order (a rule needs at least 5 firings):

* ``add_for``: half or more of the resolved firings lasted under 5 minutes → add ``for: Nm``,
  N the smallest of 1, 2, 3, 5 minutes below which 90 % of those short firings ended.
* ``hysteresis``: 20 % or more of the firings flapped → clear at a lower threshold than it
  fires, or ``keep_firing_for: Mm``, M the smallest of 5, 10, 15, 30 minutes that covers 90 %
  of the gaps between a resolve and the next firing (10 when none was seen).
* ``raise_threshold``: 80 % or more never acted on and at least one a day → raise the
  threshold or route it as low severity (a ticket, not a page).
* ``group``: 10 or more of its alerts started firing within one 5-minute slot → group them.
* ``silence``: never acted on at all, less than half already held back, 10 or more a day →
  silence it while the rule is fixed, with matchers: its ``alertname`` and every context
  label all its firings shared.
* ``fix_rule``: 80 % or more already silenced or inhibited → fix or delete the rule rather
  than keep holding it back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

WEIGHTS: dict[str, float] = {
    "frequency": 30.0,
    "never_acted": 25.0,
    "short_lived": 20.0,
    "flapping": 15.0,
    "held_back": 10.0,
}
#: Firings per day that make the frequency component full (once an hour).
FULL_PER_DAY = 24.0
#: Firings in the window below which the share components are scaled down.
MIN_FIRINGS = 5
#: A resolved firing shorter than this is short-lived.
SHORT_SECONDS = 300
#: ``for:`` values proposed, in minutes; and the share of short firings they must cover.
FOR_LADDER = (1, 2, 3, 5)
#: ``keep_firing_for:`` values proposed, in minutes.
KEEP_LADDER = (5, 10, 15, 30)
KEEP_DEFAULT = 10
COVER = 0.9
SHORT_SHARE = 0.5
FLAP_SHARE = 0.2
UNACTED_SHARE = 0.8
HELD_SHARE = 0.8
#: Alerts of one signature starting within one slot of this many seconds that ask for grouping.
BURST_SECONDS = 300
GROUP_PEAK = 10
PERMANENT_PER_DAY = 10.0
#: Labels offered for a silence's matchers when all the firings of a signature share them.
CONTEXT_LABELS = ("cluster", "namespace", "service", "job", "instance", "env", "team")
NO_ALERTNAME = "(no alertname)"


@dataclass(frozen=True)
class Facts:
    """What the window holds for one signature (gathered by ``service``)."""

    source: str
    alertname: str
    firings: int
    alerts: int = 0
    acted: int = 0
    flapping: int = 0
    silenced: int = 0
    inhibited: int = 0
    #: Firings that resolved (their duration is known), and their median duration.
    resolved: int = 0
    median_seconds: float | None = None
    #: Seconds → resolved firings that lasted less; for ``FOR_LADDER`` minutes and
    #: ``SHORT_SECONDS``.
    shorter_than: Mapping[int, int] = field(default_factory=dict)
    #: Firings that followed a resolve of the same alert, and seconds → those whose gap since
    #: that resolve was shorter; for ``KEEP_LADDER`` minutes.
    refires: int = 0
    gaps_shorter_than: Mapping[int, int] = field(default_factory=dict)
    #: Most distinct alerts of the signature that started firing in one ``BURST_SECONDS`` slot.
    peak: int = 0
    #: Context labels with one value over all the firings.
    common_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    name: str
    value: float
    weight: float
    points: float


@dataclass(frozen=True)
class Recommendation:
    kind: str
    text: str
    #: A snippet to paste (a rule's YAML line, or silence matchers), when there is one.
    suggestion: str = ""
    matchers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    facts: Facts
    per_day: float
    score: float
    components: tuple[Component, ...]
    recommendations: tuple[Recommendation, ...]


def _share(part: int, whole: int) -> float:
    return min(1.0, part / whole) if whole > 0 else 0.0


def frequency(per_day: float) -> float:
    """0 up to one firing a day, 1 from ``FULL_PER_DAY``, logarithmic between."""
    if per_day <= 1.0:
        return 0.0
    return min(1.0, math.log(per_day) / math.log(FULL_PER_DAY))


def components(facts: Facts, window_days: float) -> tuple[float, dict[str, float]]:
    """(firings per day, component name → value in [0, 1])."""
    per_day = facts.firings / window_days if window_days > 0 else 0.0
    return per_day, {
        "frequency": frequency(per_day),
        "never_acted": _share(facts.firings - facts.acted, facts.firings),
        "short_lived": _share(facts.shorter_than.get(SHORT_SECONDS, 0), facts.resolved),
        "flapping": _share(facts.flapping, facts.firings),
        "held_back": _share(facts.silenced + facts.inhibited, facts.firings),
    }


def assess(facts: Facts, window_days: float) -> Assessment:
    """Score one signature and choose its recommendations (see the module docstring)."""
    per_day, values = components(facts, window_days)
    volume = min(1.0, facts.firings / MIN_FIRINGS)
    parts = tuple(
        Component(
            name,
            round(value, 4),
            WEIGHTS[name],
            round(WEIGHTS[name] * value * (1.0 if name == "frequency" else volume), 1),
        )
        for name, value in values.items()
    )
    score = round(min(100.0, sum(p.points for p in parts)), 1)
    return Assessment(facts, round(per_day, 3), score, parts, recommend(facts, per_day, values))


def _ladder(counts: Mapping[int, int], ladder: Sequence[int], total: int) -> int | None:
    """Smallest minutes of ``ladder`` whose count covers ``COVER`` of ``total``."""
    for minutes in ladder:
        if counts.get(minutes * 60, 0) >= COVER * total:
            return minutes
    return None


def _minutes(n: int) -> str:
    return f"{n} minute" + ("" if n == 1 else "s")


def recommend(
    facts: Facts, per_day: float, values: Mapping[str, float]
) -> tuple[Recommendation, ...]:
    """The recommendations the rules of the module docstring choose, in their order."""
    if facts.firings < MIN_FIRINGS:
        return ()
    out: list[Recommendation] = []
    short = facts.shorter_than.get(SHORT_SECONDS, 0)
    if values["short_lived"] >= SHORT_SHARE:
        n = _ladder(facts.shorter_than, FOR_LADDER, short) or FOR_LADDER[-1]
        held = facts.shorter_than.get(n * 60, 0)
        out.append(
            Recommendation(
                "add_for",
                f"{short} of {facts.resolved} resolved firings lasted under 5 minutes: add "
                f'"for: {n}m" to the alert rule, so the condition must hold {_minutes(n)} '
                f"before it fires ({held} of them would not have fired).",
                suggestion=f"for: {n}m",
            )
        )
    if values["flapping"] >= FLAP_SHARE:
        m = (
            _ladder(facts.gaps_shorter_than, KEEP_LADDER, facts.refires) or KEEP_LADDER[-1]
            if facts.refires
            else KEEP_DEFAULT
        )
        out.append(
            Recommendation(
                "hysteresis",
                f"{facts.flapping} of {facts.firings} firings flapped: add hysteresis (clear "
                f'at a lower threshold than it fires), a "for:", or "keep_firing_for: {m}m" '
                "so a brief recovery does not resolve it.",
                suggestion=f"keep_firing_for: {m}m",
            )
        )
    if values["never_acted"] >= UNACTED_SHARE and per_day >= 1.0:
        out.append(
            Recommendation(
                "raise_threshold",
                f"{facts.firings - facts.acted} of {facts.firings} firings were never acted on "
                f"(no run, no task, no acknowledgement) at {per_day:.1f} a day: raise the "
                "threshold, or route it as low severity (a ticket, not a page).",
                suggestion="severity: info",
            )
        )
    if facts.peak >= GROUP_PEAK:
        out.append(
            Recommendation(
                "group",
                f"{facts.peak} of its alerts started firing within {BURST_SECONDS // 60} "
                "minutes: group them, in Alertmanager's route (\"group_by: [alertname, "
                'cluster]") or with an incident rule, so they make one notification.',
                suggestion="group_by: [alertname, cluster]",
            )
        )
    held_share = values["held_back"]
    matchers = silence_matchers(facts)
    # Without an alertname or a shared label there is nothing narrow enough to silence.
    if matchers and facts.acted == 0 and held_share < 0.5 and per_day >= PERMANENT_PER_DAY:
        out.append(
            Recommendation(
                "silence",
                f"Permanent noise: {facts.firings} firings, none acted on: silence it while "
                f"the rule is fixed, with matchers {', '.join(matchers)}.",
                suggestion=", ".join(matchers),
                matchers=matchers,
            )
        )
    if held_share >= HELD_SHARE:
        out.append(
            Recommendation(
                "fix_rule",
                f"{facts.silenced + facts.inhibited} of {facts.firings} firings were silenced "
                "or inhibited: fix or delete the alert rule instead of holding it back.",
            )
        )
    return tuple(out)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def silence_matchers(facts: Facts) -> tuple[str, ...]:
    """Alertmanager matchers for a silence of this signature: its alertname, then the common
    context labels in ``CONTEXT_LABELS`` order."""
    out: list[str] = []
    if facts.alertname != NO_ALERTNAME:
        out.append(f'alertname="{_quote(facts.alertname)}"')
    for name in CONTEXT_LABELS:
        if name in facts.common_labels:
            out.append(f'{name}="{_quote(facts.common_labels[name])}"')
    return tuple(out)


def ranked(assessments: Sequence[Assessment]) -> list[Assessment]:
    """Worst first: score, then firings, then signature (a stable, total order)."""
    return sorted(
        assessments,
        key=lambda a: (-a.score, -a.facts.firings, a.facts.source, a.facts.alertname),
    )


def team_score(assessments: Sequence[Assessment]) -> float:
    """Mean of the scores weighted by firings; 0 with no firing."""
    total = sum(a.facts.firings for a in assessments)
    if not total:
        return 0.0
    return round(sum(a.score * a.facts.firings for a in assessments) / total, 1)
