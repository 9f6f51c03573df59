"""The alerts list's time filter on both backends: a period of last or first seen typed as
UTC, combined with the other filters, kept by the paging, and a bad value shown next to its
field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.alerts.models import Alert
from sophrosyne.web import alerts as alert_pages
from tests.api.helpers import Api
from tests.web.conftest import Person

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def _ids(html: str) -> list[int]:
    """The alert ids of the table's rows, in order (each row links its id twice)."""
    return list(dict.fromkeys(int(n) for n in re.findall(r'<td><a href="/alerts/(\d+)">', html)))


def _seed(api: Api, factory: sessionmaker[Session]) -> dict[str, int]:
    """Eight alerts: ``n0``…``n7``, first seen at DAY + n hours and last seen 10 hours after
    that; ``n5`` resolved, ``n6`` on source ``other`` (generic alerts all come from one)."""
    ids: dict[str, int] = {}
    for n in range(8):
        body = {"labels": {"alertname": f"n{n}", "instance": "web1"}, "severity": "warning"}
        assert api.post("/api/v1/alerts", json=body).status_code in (200, 202)
    with factory() as s, s.begin():
        for alert in s.scalars(select(Alert)):
            n = int(alert.labels["alertname"][1:])
            ids[alert.labels["alertname"]] = alert.id
            first = DAY + timedelta(hours=n)
            values: dict[str, Any] = {
                "first_seen_at": first,
                "last_seen_at": first + timedelta(hours=10),
            }
            if n == 5:
                values["status"] = "resolved"
            if n == 6:
                values["source"] = "other"
            s.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    return ids


def _names(ids: dict[str, int], numbers: list[int]) -> list[int]:
    """The ids of ``n<number>`` alerts, newest (highest id) first like the list."""
    return sorted((ids[f"n{n}"] for n in numbers), reverse=True)


def test_the_time_filter_narrows_the_list(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    ids = _seed(api, session_factory)
    olga: Person = person("olga")
    # Last seen from DAY+12h to before DAY+15h: n2, n3, n4.
    by_last = olga.get("/alerts", params={"since": "2026-11-20T12:00", "until": "2026-11-20T15:00"})
    assert by_last.status_code == 200
    assert _ids(by_last.text) == _names(ids, [2, 3, 4])
    assert 'value="2026-11-20T12:00"' in by_last.text and 'value="2026-11-20T15:00"' in by_last.text
    # On first seen, from DAY+3h: n3…n7.
    by_first = olga.get("/alerts", params={"since": "2026-11-20T03:00", "seen": "first_seen"})
    assert _ids(by_first.text) == _names(ids, [3, 4, 5, 6, 7])
    assert '<option value="first_seen" selected>' in by_first.text
    # Combined with the other filters.
    combined = olga.get(
        "/alerts",
        params={
            "since": "2026-11-20T03:00",
            "seen": "first_seen",
            "status": "firing",
            "matcher": 'alertname!="n7"',
        },
    )
    assert _ids(combined.text) == _names(ids, [3, 4, 6])
    by_source = olga.get("/alerts", params={"until": "2026-11-20T17:00", "source": "other"})
    assert _ids(by_source.text) == _names(ids, [6])
    only_until = olga.get("/alerts", params={"until": "2026-11-20T02:00", "seen": "first_seen"})
    assert _ids(only_until.text) == _names(ids, [0, 1])
    everything = olga.get("/alerts")
    assert _ids(everything.text) == _names(ids, list(range(8)))


def test_paging_keeps_the_time_filter(
    api: Api,
    person: Any,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _seed(api, session_factory)
    monkeypatch.setattr(alert_pages, "PAGE_SIZE", 2)
    olga: Person = person("olga")
    url = "/alerts?" + "since=2026-11-20T01:00&until=2026-11-20T06:00&seen=first_seen"
    seen: list[int] = []
    for _ in range(10):
        page = olga.get(url)
        assert page.status_code == 200
        seen += _ids(page.text)
        found = re.search(r'href="(/alerts\?[^"]*before_id=\d+[^"]*)"', page.text)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
        query = parse_qs(urlsplit(url).query)
        assert query["since"] == ["2026-11-20T01:00"] and query["until"] == ["2026-11-20T06:00"]
        assert query["seen"] == ["first_seen"]
    assert seen == _names(ids, [1, 2, 3, 4, 5])


def test_a_bad_time_is_shown_next_to_its_field(api: Api, person: Any) -> None:
    olga: Person = person("olga")
    bad = olga.get("/alerts", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert re.search(r'id="since-error">From: expected a date and time', bad.text)
    assert 'aria-describedby="since-error"' in bad.text and 'value="yesterday"' in bad.text
    backwards = olga.get(
        "/alerts", params={"since": "2026-11-20T12:00", "until": "2026-11-20T11:00"}
    )
    assert backwards.status_code == 422
    assert 'id="until-error">Until: must be later than From' in backwards.text
    assert "since-error" not in backwards.text
    assert olga.get("/alerts", params={"seen": "sometime"}).status_code == 400
