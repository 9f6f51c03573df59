"""The report pages on both backends: index, each report with charts (valid SVG, one bar per
bucket) and tables, window and target selection, errors shown beside the fields, exports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.db.reports_history import NOW, build

SVG = "{http://www.w3.org/2000/svg}"
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


@pytest.fixture
def history(app: FastAPI, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    app.state.sophrosyne.clock = lambda: NOW
    with session_factory.begin() as session:
        return build(session)


def _charts(html: str) -> dict[str, ET.Element]:
    """Every chart of a page by its title."""
    out = {}
    for markup in _SVG.findall(html):
        root = ET.fromstring(markup)
        title = root.find(f"{SVG}title")
        assert title is not None and title.text
        out[title.text] = root
    return out


def _bars(root: ET.Element) -> int:
    return sum(1 for g in root.iter(f"{SVG}g") if g.get("class") == "bar")


def test_index_links_every_report_and_fatigue(person: Any, history: dict[str, Any]) -> None:
    page = person("vera").get("/reports")
    assert page.status_code == 200
    for name in ("overview", "actions", "servers", "errors", "insights"):
        assert f'href="/reports/{name}"' in page.text
    assert 'href="/fatigue"' in page.text
    assert '<a href="/reports" aria-current="page">Reports</a>' in page.text


def test_overview_page_draws_charts_with_tables(person: Any, history: dict[str, Any]) -> None:
    page = person("vera").get("/reports/overview?window=7d")
    assert page.status_code == 200, page.text
    assert "style=" not in page.text and "<style" not in page.text
    charts = _charts(page.text)
    assert set(charts) == {
        "Runs over time, by state",
        "Success rate over time",
        "Alerts that fired most",
        "Mean time to resolve (minutes)",
    }
    assert _bars(charts["Runs over time, by state"]) == 8  # one per day of the window
    assert _bars(charts["Alerts that fired most"]) == 3
    assert _bars(charts["Mean time to resolve (minutes)"]) == 8
    # Days with an outcome get a dot on the success-rate line: 16, 17, 18, 20, 21, 22.
    assert len(list(charts["Success rate over time"].iter(f"{SVG}circle"))) == 6
    assert "42.9 %" in page.text  # 3 of 7 outcomes succeeded
    assert "90 min" in page.text  # MTTR 5,400 s
    assert 'href="/api/v1/reports/overview?window=7d&amp;format=csv"' in page.text
    assert 'href="/api/v1/reports/overview?window=7d"' in page.text


def test_each_report_page_renders(person: Any, history: dict[str, Any]) -> None:
    vera = person("vera")
    actions = vera.get("/reports/actions")
    assert actions.status_code == 200 and "55 s" in actions.text  # cleanup's median
    servers = vera.get("/reports/servers")
    assert _bars(_charts(servers.text)["Failed runs per target"]) == 2
    errors = vera.get("/reports/errors")
    assert "disk full" in errors.text and "Error: unit not found" in errors.text
    insights = vera.get("/reports/insights")
    assert insights.text.count('class="card insight') == 6
    assert "the fix does not hold" in insights.text


def test_target_filter_narrows_the_page(person: Any, history: dict[str, Any]) -> None:
    page = person("vera").get("/reports/errors?window=7d&target=web-1")
    assert page.status_code == 200
    assert "Error: unit not found" in page.text and "disk full" not in page.text
    assert '<option value="web-1" selected>' in page.text
    assert "target=web-1&amp;format=csv" in page.text


def test_custom_window_by_hour(person: Any, history: dict[str, Any]) -> None:
    page = person("vera").get(
        "/reports/actions?window=custom&from=2026-11-18T06:00&to=2026-11-18T12:00"
    )
    assert page.status_code == 200
    assert _bars(_charts(page.text)["Runs over time, by state"]) == 6
    assert 'value="2026-11-18T06:00"' in page.text


def test_bad_window_shows_the_field(person: Any, history: dict[str, Any]) -> None:
    page = person("vera").get("/reports/overview?window=custom&from=2026-11-20&to=2026-11-19")
    assert page.status_code == 422
    assert 'id="err-to"' in page.text and "must be later than from" in page.text
    assert "<svg" not in page.text
    unknown = person("vera").get("/reports/overview?target=nope")
    assert unknown.status_code == 422 and 'id="err-target"' in unknown.text


def test_unknown_report_is_404(person: Any, history: dict[str, Any]) -> None:
    assert person("vera").get("/reports/nope").status_code == 404
