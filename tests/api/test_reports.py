"""The reports API on both backends: JSON figures from the known history, CSV that parses and
matches the JSON, window and target validation naming the field, and the read permission."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.reports.tables import cell
from tests.api.helpers import Api, Tokens
from tests.db.reports_history import NOW, at, build

NAMES = ("overview", "actions", "servers", "errors", "insights")


@pytest.fixture
def history(app: FastAPI, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    app.state.sophrosyne.clock = lambda: NOW
    with session_factory.begin() as session:
        return build(session)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_overview_json(api: Api, history: dict[str, Any]) -> None:
    reply = api.get("/api/v1/reports/overview?window=7d")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["window"]["name"] == "7d" and body["window"]["bucket"] == "day"
    assert body["runs"]["total"] == 8
    assert body["incidents"]["mttr_seconds"] == 5400.0
    assert len(body["runs_over_time"]) == 8


def test_every_report_is_readable_with_a_read_token(
    api: Api, tokens: Tokens, history: dict[str, Any]
) -> None:
    reader = api.as_(tokens.read)
    for name in NAMES:
        assert reader.get(f"/api/v1/reports/{name}").status_code == 200, name
    assert api.as_(tokens.ingest).get("/api/v1/reports/overview").status_code == 403
    assert api.as_(None).get("/api/v1/reports/overview").status_code == 401


def test_actions_csv_matches_json(api: Api, history: dict[str, Any]) -> None:
    as_json = api.get("/api/v1/reports/actions").json()
    reply = api.get("/api/v1/reports/actions?format=csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.headers["content-disposition"] == 'attachment; filename="sophrosyne-actions.csv"'
    rows = _csv(reply.text)
    assert [r["action"] for r in rows] == [a["action"] for a in as_json["actions"]]
    for row, item in zip(rows, as_json["actions"], strict=True):
        assert set(row) == set(item)
        for key, value in item.items():
            expected = "" if value is None else str(value)
            assert row[key] == expected, (key, row[key], value)


def test_servers_and_errors_csv_match_json(api: Api, history: dict[str, Any]) -> None:
    for name, key in (("servers", "servers"), ("errors", "groups")):
        items = api.get(f"/api/v1/reports/{name}").json()[key]
        rows = _csv(api.get(f"/api/v1/reports/{name}?format=csv").text)
        assert len(rows) == len(items) > 0
        for row, item in zip(rows, items, strict=True):
            for field, value in item.items():
                if isinstance(value, list):
                    assert row[field].split() == value
                elif isinstance(value, bool):
                    assert row[field] == str(value).lower()
                else:
                    assert row[field] == ("" if value is None else str(value)), field


def test_overview_csv_is_metric_value(api: Api, history: dict[str, Any]) -> None:
    body = api.get("/api/v1/reports/overview").json()
    rows = {
        r["metric"]: r["value"] for r in _csv(api.get("/api/v1/reports/overview?format=csv").text)
    }
    assert rows["alerts.firing"] == str(body["alerts"]["firing"]) == "7"
    assert rows["incidents.mtta_seconds"] == "900.0"
    assert rows["runs.failed"] == "3"
    assert rows["runs.success_rate"] == str(body["runs"]["success_rate"])


def test_insights_csv_carries_evidence_as_json(api: Api, history: dict[str, Any]) -> None:
    body = api.get("/api/v1/reports/insights").json()
    rows = _csv(api.get("/api/v1/reports/insights?format=csv").text)
    assert [(r["severity"], r["kind"], r["subject"]) for r in rows] == [
        (i["severity"], i["kind"], i["subject"]) for i in body["insights"]
    ]
    assert [json.loads(r["evidence"]) for r in rows] == [i["evidence"] for i in body["insights"]]


def test_target_filter_narrows(api: Api, history: dict[str, Any]) -> None:
    everything = api.get("/api/v1/reports/servers").json()["servers"]
    narrowed = api.get("/api/v1/reports/servers?target=web-1").json()
    assert narrowed["target"] == "web-1"
    assert [s["target"] for s in everything] == ["db-1", "web-1"]
    assert [s["target"] for s in narrowed["servers"]] == ["web-1"]
    runs = api.get("/api/v1/reports/overview?target=db-1").json()["runs"]["total"]
    assert runs == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("window=3d", "window"),
        ("window=custom", "from"),
        ("window=custom&from=yesterday", "from"),
        ("window=custom&from=2026-11-20&to=2026-11-19", "to"),
        ("window=custom&from=2024-01-01&to=2026-01-01", "from"),
        ("window=7d&from=2026-11-20", "from"),
        ("target=nope", "target"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    api: Api, history: dict[str, Any], query: str, field: str
) -> None:
    reply = api.get(f"/api/v1/reports/errors?{query}")
    assert reply.status_code == 422, reply.text
    assert [d["loc"][-1] for d in reply.json()["detail"]] == [field]


def test_bad_format_is_422(api: Api, history: dict[str, Any]) -> None:
    reply = api.get("/api/v1/reports/overview?format=xml")
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == "format"


def test_custom_window(api: Api, history: dict[str, Any]) -> None:
    reply = api.get(
        "/api/v1/reports/overview?window=custom&from=2026-11-18T08:00Z&to=2026-11-18T10:00Z"
    )
    body = reply.json()
    assert body["window"]["bucket"] == "hour"
    assert body["window"]["start"].startswith("2026-11-18T08:00")
    assert body["runs"]["by_state"] == {"failed": 1, "timed_out": 1}
    assert at(18, 8).isoformat().startswith(body["runs_over_time"][0]["start"][:16])


def test_formula_like_text_is_defused() -> None:
    assert cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert cell("disk full") == "disk full"
    assert cell(-1) == "-1"
