"""The fatigue score, pure: components at their boundaries, the formula's sum, the volume
scaling, and which recommendation each rule chooses."""

from __future__ import annotations

import math

import pytest

from sophrosyne.domains.fatigue import score
from sophrosyne.domains.fatigue.score import Facts, assess


def _facts(**kw: object) -> Facts:
    base: dict[str, object] = {"source": "alertmanager", "alertname": "X", "firings": 10}
    return Facts(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("per_day", "expected"),
    [
        (0.0, 0.0),
        (0.5, 0.0),
        (1.0, 0.0),
        (2.0, math.log(2) / math.log(24)),
        (24.0, 1.0),
        (1000.0, 1.0),
    ],
)
def test_frequency_is_logarithmic_between_one_and_twenty_four_a_day(
    per_day: float, expected: float
) -> None:
    assert score.frequency(per_day) == pytest.approx(expected)


def test_a_quiet_rule_that_is_always_acted_on_scores_zero() -> None:
    a = assess(_facts(firings=7, acted=7, resolved=7, shorter_than={300: 0}), window_days=7)
    assert a.score == 0.0
    assert a.recommendations == ()


def test_the_worst_rule_scores_one_hundred_and_the_points_add_up() -> None:
    f = _facts(
        firings=24 * 7,
        acted=0,
        resolved=24 * 7,
        shorter_than={60: 168, 120: 168, 180: 168, 300: 168},
        flapping=168,
        silenced=100,
        inhibited=68,
    )
    a = assess(f, window_days=7)
    assert a.score == 100.0
    assert {c.name: c.points for c in a.components} == score.WEIGHTS


@pytest.mark.parametrize(("firings", "volume"), [(1, 0.2), (4, 0.8), (5, 1.0), (50, 1.0)])
def test_shares_are_scaled_by_volume_below_five_firings(firings: int, volume: float) -> None:
    # never acted on, nothing else: only never_acted and (for 50) frequency count
    a = assess(_facts(firings=firings, acted=0), window_days=30)
    points = {c.name: c.points for c in a.components}
    assert points["never_acted"] == round(25 * volume, 1)
    assert a.score == round(sum(points.values()), 1)


def test_short_lived_is_a_share_of_resolved_firings_only() -> None:
    f = _facts(firings=10, acted=10, resolved=4, shorter_than={300: 2})
    [short] = [c for c in assess(f, 7).components if c.name == "short_lived"]
    assert short.value == 0.5 and short.points == 10.0


@pytest.mark.parametrize(
    ("shorter_than", "expected"),
    [
        ({60: 9, 120: 10, 180: 10, 300: 10}, "for: 1m"),  # 9 of 10 is the 90 % asked
        ({60: 8, 120: 9, 180: 10, 300: 10}, "for: 2m"),
        ({60: 0, 120: 0, 180: 9, 300: 10}, "for: 3m"),
        ({60: 0, 120: 0, 180: 0, 300: 10}, "for: 5m"),
    ],
)
def test_for_is_the_smallest_step_covering_ninety_percent_of_short_firings(
    shorter_than: dict[int, int], expected: str
) -> None:
    f = _facts(firings=10, acted=10, resolved=10, shorter_than=shorter_than)
    [rec] = [r for r in assess(f, 7).recommendations if r.kind == "add_for"]
    assert rec.suggestion == expected


def test_no_for_below_half_short_lived_nor_below_five_firings() -> None:
    half = _facts(firings=10, acted=10, resolved=10, shorter_than={300: 4, 60: 4})
    assert [r.kind for r in assess(half, 7).recommendations] == []
    few = _facts(firings=4, acted=4, resolved=4, shorter_than={300: 4, 60: 4})
    assert assess(few, 7).recommendations == ()


@pytest.mark.parametrize(
    ("flapping", "refires", "gaps", "expected"),
    [
        (1, 0, {}, None),  # 10 % flaps: below the 20 % asked
        (2, 0, {}, "keep_firing_for: 10m"),  # flaps, no gap seen: the default
        (2, 10, {300: 9, 600: 10, 900: 10, 1800: 10}, "keep_firing_for: 5m"),
        (2, 10, {300: 1, 600: 2, 900: 9, 1800: 10}, "keep_firing_for: 15m"),
        (2, 10, {300: 0, 600: 0, 900: 0, 1800: 1}, "keep_firing_for: 30m"),
    ],
)
def test_hysteresis_for_flapping_with_keep_firing_for_from_the_gaps(
    flapping: int, refires: int, gaps: dict[int, int], expected: str | None
) -> None:
    f = _facts(firings=10, acted=10, flapping=flapping, refires=refires, gaps_shorter_than=gaps)
    got = [r.suggestion for r in assess(f, 7).recommendations if r.kind == "hysteresis"]
    assert got == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("firings", "acted", "days", "wanted"),
    [
        (10, 2, 7, True),  # 80 % never acted, 1.4 a day
        (10, 3, 7, False),  # 70 %
        (7, 0, 7, True),  # exactly one a day
        (6, 0, 7, False),  # under one a day
    ],
)
def test_raise_threshold_when_mostly_never_acted_on_and_daily(
    firings: int, acted: int, days: float, wanted: bool
) -> None:
    kinds = [r.kind for r in assess(_facts(firings=firings, acted=acted), days).recommendations]
    assert ("raise_threshold" in kinds) is wanted


@pytest.mark.parametrize(("peak", "wanted"), [(9, False), (10, True)])
def test_group_when_ten_alerts_start_in_one_slot(peak: int, wanted: bool) -> None:
    kinds = [r.kind for r in assess(_facts(acted=10, peak=peak), 7).recommendations]
    assert ("group" in kinds) is wanted


def test_permanent_noise_gets_a_silence_with_the_common_labels_as_matchers() -> None:
    f = _facts(
        alertname='Odd"Name',
        firings=70,
        acted=0,
        common_labels={"service": "checkout", "cluster": "eu-1"},
    )
    [rec] = [r for r in assess(f, 7).recommendations if r.kind == "silence"]
    # alertname first, then the context labels in CONTEXT_LABELS order, quotes escaped
    assert rec.matchers == ('alertname="Odd\\"Name"', 'cluster="eu-1"', 'service="checkout"')


def test_no_silence_without_anything_to_match_on() -> None:
    f = _facts(alertname=score.NO_ALERTNAME, firings=70, acted=0)
    assert "silence" not in [r.kind for r in assess(f, 7).recommendations]
    named = _facts(alertname=score.NO_ALERTNAME, firings=70, acted=0, common_labels={"job": "x"})
    [rec] = [r for r in assess(named, 7).recommendations if r.kind == "silence"]
    assert rec.matchers == ('job="x"',)


@pytest.mark.parametrize(
    ("firings", "acted", "silenced", "wanted"),
    [(70, 0, 0, True), (69, 0, 0, False), (70, 1, 0, False), (70, 0, 35, False)],
)
def test_silence_only_for_daily_never_acted_noise_not_already_held_back(
    firings: int, acted: int, silenced: int, wanted: bool
) -> None:
    f = _facts(firings=firings, acted=acted, silenced=silenced)
    kinds = [r.kind for r in assess(f, 7).recommendations]
    assert ("silence" in kinds) is wanted


@pytest.mark.parametrize(("held", "wanted"), [(7, False), (8, True)])
def test_fix_the_rule_when_mostly_held_back(held: int, wanted: bool) -> None:
    f = _facts(firings=10, acted=10, silenced=held // 2, inhibited=held - held // 2)
    kinds = [r.kind for r in assess(f, 7).recommendations]
    assert ("fix_rule" in kinds) is wanted


def test_ranking_and_team_score_weighted_by_firings() -> None:
    noisy = assess(_facts(alertname="A", firings=90, acted=0), 7)
    calm = assess(_facts(alertname="B", firings=10, acted=10), 7)
    tie = assess(_facts(alertname="C", firings=90, acted=0), 7)
    assert [a.facts.alertname for a in score.ranked([calm, tie, noisy])] == ["A", "C", "B"]
    expected = round((noisy.score * 90 + calm.score * 10) / 100, 1)
    assert score.team_score([noisy, calm]) == expected
    assert score.team_score([]) == 0.0
