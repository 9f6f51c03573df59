"""The silence index finds the same silence as trying every silence in order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.silences.active import CompiledSilence, SilenceIndex, first_silence

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _silence(number: int, matchers: list[str], *, starts: datetime = NOW - HOUR) -> CompiledSilence:
    return CompiledSilence(
        id=number,
        matchers=parse_matchers(matchers),
        author="ops",
        comment=f"silence {number}",
        starts_at=starts,
        ends_at=starts + 2 * HOUR,
        expire_on_resolve=False,
    )


def test_an_anchored_silence_is_found_by_its_label_value() -> None:
    index = SilenceIndex(
        [
            _silence(1, ['alertname="DiskFull"', 'instance=~"db.*"']),
            _silence(2, ['alertname="CpuHigh"']),
        ]
    )
    found = index.first({"alertname": "DiskFull", "instance": "db1"}, NOW)
    assert found is not None and found.id == 1
    assert index.first({"alertname": "DiskFull", "instance": "web1"}, NOW) is None
    assert index.first({"alertname": "Other"}, NOW) is None


def test_silences_without_an_equality_value_are_always_tried() -> None:
    # ``team=""`` matches alerts without the label: it pins no value to look up by.
    index = SilenceIndex(
        [_silence(1, ['team=""', 'severity!="critical"']), _silence(2, ['job=~"node.*"'])]
    )
    hit = index.first({"alertname": "X", "severity": "warning"}, NOW)
    assert hit is not None and hit.id == 1
    regex = index.first({"alertname": "X", "team": "a", "job": "node-exporter"}, NOW)
    assert regex is not None and regex.id == 2


def test_the_first_in_list_order_wins_and_time_counts() -> None:
    later = NOW + 3 * HOUR
    index = SilenceIndex(
        [
            _silence(1, ['instance="db1"'], starts=later),  # pending at NOW
            _silence(2, ['job=~".+"']),
            _silence(3, ['alertname="DiskFull"']),
        ]
    )
    found = index.first({"alertname": "DiskFull", "instance": "db1", "job": "node"}, NOW)
    assert found is not None and found.id == 2
    at_later = index.first({"alertname": "DiskFull", "instance": "db1", "job": "node"}, later)
    assert at_later is not None and at_later.id == 1


def test_same_answer_as_trying_every_silence() -> None:
    rng = random.Random(11)
    names = ["alertname", "instance", "job", "team"]
    values = ["a", "b", "c", ""]
    ops = ["=", "!=", "=~", "!~"]
    for _ in range(300):
        silences = []
        for number in range(rng.randint(0, 12)):
            matchers = [
                f'{rng.choice(names)}{rng.choice(ops)}"{rng.choice([*values, "a|b", ".*"])}"'
                for _ in range(rng.randint(1, 3))
            ]
            shift = rng.choice([-3, -1, 0, 1]) * HOUR
            silences.append(_silence(number, matchers, starts=NOW + shift))
        index = SilenceIndex(silences)
        for _ in range(20):
            labels = {n: rng.choice(values) for n in names if rng.random() < 0.7}
            expected = first_silence(silences, labels, NOW)
            assert index.first(labels, NOW) == expected, (silences, labels)
