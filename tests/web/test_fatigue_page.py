"""The /fatigue page on both backends: offenders with their points and recommendations,
window links and export links, a bad window refused, and a viewer may read it."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import Api


def test_the_page_lists_offenders_with_points_and_links(api: Api, person: Any) -> None:
    for n in range(12):  # twelve alerts of one rule at once
        alert = {"fingerprint": f"b{n}", "labels": {"alertname": "Burst<x>", "team": "db"}}
        assert api.post("/api/v1/alerts", json=alert).status_code == 200
    vera = person("vera")  # a viewer
    page = vera.get("/fatigue?window=30d")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Burst&lt;x&gt;" in html and "Burst<x>" not in html  # escaped
    assert "group_by: [alertname, cluster]" in html  # the group recommendation
    for w in ("24h", "7d", "30d", "90d"):
        assert f'href="/fatigue?window={w}"' in html
    assert 'href="/fatigue?window=30d" aria-current="page"' in html
    assert 'href="/api/v1/fatigue?window=30d&amp;format=csv"' in html
    assert 'href="/api/v1/fatigue?window=30d"' in html
    assert "style=" not in html and "<script>" not in html
    assert vera.get("/fatigue?window=soon").status_code == 422
