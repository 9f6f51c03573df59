"""``GET /api/v1/fatigue`` on both backends: JSON and CSV, the window ending on the
application's clock, a bad window named in the 422, and who may read it."""

from __future__ import annotations

import csv
import io
import json

from fastapi import FastAPI

from tests.api.helpers import Api, Clock, Tokens

GENERIC = "/api/v1/alerts"


def _fire(api: Api, clock: Clock, fp: str, name: str, status: str = "firing") -> None:
    alert = {"fingerprint": fp, "status": status, "labels": {"alertname": name, "team": "web"}}
    reply = api.as_(api.token).post(GENERIC, json=alert)
    assert reply.status_code == 200, reply.text


def _storm(api: Api, clock: Clock) -> None:
    # Noisy: 8 firings of 30 s each, 10 minutes apart; Calm: one firing.
    for _ in range(8):
        _fire(api, clock, "n1", "=Noisy")
        clock.advance(seconds=30)
        _fire(api, clock, "n1", "=Noisy", "resolved")
        clock.advance(seconds=570)
    _fire(api, clock, "c1", "Calm")


def test_json_and_csv(api: Api, clock: Clock, tokens: Tokens) -> None:
    _storm(api, clock)
    reply = api.as_(tokens.read).get("/api/v1/fatigue?window=24h")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["window"], body["signatures"], body["firings"]) == ("24h", 2, 9)
    noisy, calm = body["offenders"]
    assert (noisy["alertname"], noisy["firings"], noisy["short_lived"]) == ("=Noisy", 8, 8)
    assert noisy["median_seconds"] == 30.0
    assert calm["alertname"] == "Calm" and calm["score"] < noisy["score"]
    assert "for: 1m" in [r["suggestion"] for r in noisy["recommendations"]]
    assert sum(c["points"] for c in noisy["components"]) == noisy["score"]

    exported = api.as_(tokens.read).get("/api/v1/fatigue?window=24h&format=csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="fatigue-24h.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["alertname"] for r in rows] == ["'=Noisy", "Calm"]  # no formula in a sheet
    assert float(rows[0]["score"]) == noisy["score"]
    assert "for: 1m" in rows[0]["recommendations"]


def test_the_window_ends_on_the_clock(api: Api, clock: Clock, tokens: Tokens) -> None:
    _storm(api, clock)
    clock.advance(days=2)
    body = api.as_(tokens.read).get("/api/v1/fatigue?window=24h").json()
    assert (body["firings"], body["offenders"], body["score"]) == (0, [], 0.0)
    assert api.as_(tokens.read).get("/api/v1/fatigue?window=7d&limit=1").json()["firings"] == 9


def test_a_bad_window_is_named(api: Api, tokens: Tokens) -> None:
    for bad in ("7", "7w", "0d", "-1d", "400d", "1e3d"):
        reply = api.as_(tokens.read).get(f"/api/v1/fatigue?window={bad}")
        assert reply.status_code == 422, bad
        assert "window" in json.dumps(reply.json()), bad
    assert api.as_(tokens.read).get("/api/v1/fatigue?format=xml").status_code == 422


def test_an_ingest_token_may_not_read_it(api: Api, tokens: Tokens) -> None:
    assert api.as_(tokens.ingest).get("/api/v1/fatigue").status_code == 403
    assert api.as_(None).get("/api/v1/fatigue").status_code == 401


def test_an_unchanged_report_is_reused_and_new_data_is_seen_at_once(
    app: FastAPI, api: Api, clock: Clock, tokens: Tokens
) -> None:
    """Within a minute and with no new data the memo answers; one new firing (a new event
    row) changes the watermark, so the next answer counts it, in the same minute."""
    memo = app.state.sophrosyne.memo
    _storm(api, clock)
    first = api.as_(tokens.read).get("/api/v1/fatigue?window=24h").json()
    again = api.as_(tokens.read).get("/api/v1/fatigue?window=24h").json()
    assert again == first and (memo.misses, memo.hits) == (1, 1)
    _fire(api, clock, "c2", "Calm")
    after = api.as_(tokens.read).get("/api/v1/fatigue?window=24h").json()
    assert after["firings"] == first["firings"] + 1 and memo.misses == 2
    # Another window or limit is another report.
    api.as_(tokens.read).get("/api/v1/fatigue?window=7d")
    api.as_(tokens.read).get("/api/v1/fatigue?window=24h&limit=1")
    assert memo.misses == 4
