"""The maintenance page: windows listed with state and occurrences, a one-off window created
from the form (errors next to their fields), ended now; a viewer sees neither the form nor the
button and is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.helpers import Api
from tests.web.conftest import Person


def _local(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def test_create_from_the_form_and_end_now(api: Api, person: Any) -> None:
    now = datetime.now(UTC)
    olga: Person = person("olga")
    page = olga.get("/maintenance")
    assert page.status_code == 200 and "No maintenance window." in page.text
    assert 'action="/maintenance"' in page.text

    bad = olga.post(
        "/maintenance",
        {
            "name": "Bad Name",
            "comment": "",
            "targets": "",
            "matchers": "nonsense",
            "starts_at": "tomorrow",
            "ends_at": _local(now + timedelta(hours=1)),
        },
    )
    assert bad.status_code == 422
    for field in ("name", "comment", "matchers", "starts_at"):
        assert f'id="m-{field}-error"' in bad.text, field
    assert 'value="Bad Name"' in bad.text  # what was typed stays

    good = olga.post(
        "/maintenance",
        {
            "name": "db-work",
            "comment": "disk swap",
            "targets": "db-1, db-2",
            "matchers": "",
            "starts_at": _local(now - timedelta(minutes=5)),
            "ends_at": _local(now + timedelta(hours=1)),
        },
    )
    assert good.status_code == 303, good.text
    listed = olga.get(good.headers["location"])
    assert "Maintenance window created." in listed.text
    assert "targets db-1, db-2" in listed.text and "End now" in listed.text
    window = api.get("/api/v1/maintenance/db-work").json()
    assert (window["state"], window["author"]) == ("active", "user:olga")

    ended = olga.post("/maintenance/db-work/end")
    assert ended.status_code == 303
    assert api.get("/api/v1/maintenance/db-work").json()["state"] == "expired"
    audit = [e["action"] for e in api.get("/api/v1/audit").json()["items"]]
    assert "maintenance_window.created" in audit and "maintenance_window.ended" in audit


def test_a_viewer_sees_no_form_and_is_refused(api: Api, person: Any) -> None:
    now = datetime.now(UTC)
    api.post(
        "/api/v1/maintenance",
        json={
            "name": "db-work",
            "comment": "disk swap",
            "targets": ["db-1"],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
    )
    vera: Person = person("vera")
    page = vera.get("/maintenance")
    assert page.status_code == 200 and "db-work" in page.text
    assert "End now" not in page.text and "Create window" not in page.text
    assert vera.post("/maintenance/db-work/end").status_code == 403
    assert api.get("/api/v1/maintenance/db-work").json()["state"] == "active"
