"""Ranking past fixes: outcomes judged from times, Wilson-bound order, readable summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sophrosyne.domains.fixes.ranking import (
    Attempt,
    Outcome,
    format_duration,
    judge,
    rank,
    wilson_lower_bound,
)
from sophrosyne.domains.fixes.signature import describe, signature

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


def test_judge_outcomes() -> None:
    later = T0 + timedelta(hours=5)
    assert judge(T0, T0 + timedelta(minutes=3), window=WINDOW, now=later) == (
        Outcome.RESOLVED,
        180.0,
    )
    assert judge(T0, T0 + WINDOW, window=WINDOW, now=later)[0] == Outcome.RESOLVED
    assert judge(T0, T0 + timedelta(minutes=31), window=WINDOW, now=later)[0] == (
        Outcome.NOT_RESOLVED
    )
    assert judge(T0, None, window=WINDOW, now=later) == (Outcome.NOT_RESOLVED, None)
    assert judge(T0, None, window=WINDOW, now=T0 + timedelta(minutes=5))[0] == Outcome.PENDING
    assert judge(T0, T0 - timedelta(seconds=1), window=WINDOW, now=later)[0] == (
        Outcome.ALREADY_RESOLVED
    )


def test_wilson_bound_prefers_evidence() -> None:
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(9, 10) == pytest.approx(0.5958, abs=1e-4)
    assert wilson_lower_bound(1, 1) == pytest.approx(0.2065, abs=1e-4)
    assert wilson_lower_bound(9, 10) > wilson_lower_bound(3, 3) > wilson_lower_bound(1, 1)
    assert wilson_lower_bound(18, 20) > wilson_lower_bound(9, 10)


def _attempts(kind: str, name: str, good: int, bad: int, minutes: float = 3) -> list[Attempt]:
    ok = [Attempt(kind, name, Outcome.RESOLVED, minutes * 60)] * good
    return ok + [Attempt(kind, name, Outcome.NOT_RESOLVED)] * bad


def test_rank_orders_by_wilson_then_successes() -> None:
    attempts = (
        _attempts("action", "lucky-once", 1, 0)
        + _attempts("action", "restart", 9, 1)
        + _attempts("recommendation", "swap-disk", 3, 0)
        + _attempts("action", "never", 0, 4)
        + [Attempt("action", "restart", Outcome.PENDING)]
        + [Attempt("action", "late", Outcome.ALREADY_RESOLVED)]
    )
    ranked = rank(attempts)
    assert [(s.name, s.successes, s.attempts) for s in ranked] == [
        ("restart", 9, 10),
        ("swap-disk", 3, 3),
        ("lucky-once", 1, 1),
        ("never", 0, 4),
    ]
    assert ranked[0].pending == 1 and ranked[0].success_rate == 0.9


def test_summary_reads_like_a_sentence() -> None:
    sig = {"alertname": "DiskPressure", "role": "db"}
    [stats] = rank(_attempts("action", "restart_service", 9, 1, minutes=3))
    assert stats.summary(sig) == (
        "restart_service resolved DiskPressure on role=db 9 times out of 10, median 3 min"
    )
    [none] = rank(_attempts("action", "reboot", 0, 2))
    assert none.summary({"alertname": "X"}) == "reboot resolved X 0 times out of 2"
    [pending] = rank([Attempt("action", "wait", Outcome.PENDING)])
    assert pending.summary({"alertname": "X"}) == (
        "wait resolved X: applied 1 times, too soon to tell"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (39.6, "40 s"), (89, "1 min"), (90, "2 min"), (180, "3 min"), (9000, "2.5 h")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_signature_keeps_chosen_non_empty_labels_in_order() -> None:
    labels = {"instance": "db1:9100", "role": "db", "alertname": "DiskPressure", "job": ""}
    sig = signature(labels, ("alertname", "service", "role", "job"))
    assert sig == {"alertname": "DiskPressure", "role": "db"}
    assert describe(sig) == "DiskPressure on role=db"
    assert describe({"alertname": "Down"}) == "Down"
