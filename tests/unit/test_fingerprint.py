"""Alert fingerprints and per-source parsing into IncomingAlert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sophrosyne.domains.alerts.fingerprint import fingerprint, label_fingerprint
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload, GenericAlert
from sophrosyne.domains.alerts.sources import from_alertmanager, from_generic

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _generic(**kw: Any) -> GenericAlert:
    return GenericAlert.model_validate(kw)


def test_label_fingerprint_is_16_hex_digits() -> None:
    fp = label_fingerprint({"alertname": "Down", "job": "web"})
    assert len(fp) == 16
    int(fp, 16)


def test_label_hash_does_not_depend_on_dict_order() -> None:
    a = {"alertname": "Down", "job": "web", "instance": "h1"}
    b = {"instance": "h1", "job": "web", "alertname": "Down"}
    assert list(a) != list(b)
    assert label_fingerprint(a) == label_fingerprint(b)


def test_label_hash_is_stable_across_calls() -> None:
    labels = {"alertname": "Down", "job": "web"}
    assert label_fingerprint(labels) == label_fingerprint(dict(labels))
    assert label_fingerprint(labels) == label_fingerprint({"job": "web", "alertname": "Down"})


@pytest.mark.parametrize(
    "other",
    [
        {"alertname": "Down", "job": "db"},
        {"alertname": "Down"},
        {"alertname": "Down", "job": "web", "instance": "h1"},
        {"alertname": "Down", "jobs": "web"},
    ],
)
def test_different_labels_give_different_fingerprints(other: dict[str, str]) -> None:
    assert label_fingerprint({"alertname": "Down", "job": "web"}) != label_fingerprint(other)


def test_name_value_boundaries_are_not_ambiguous() -> None:
    assert label_fingerprint({"a": "bc"}) != label_fingerprint({"ab": "c"})


def test_source_fingerprint_kept_verbatim() -> None:
    assert fingerprint({"alertname": "Down"}, "My-Own/ID 42") == "My-Own/ID 42"
    assert fingerprint({"alertname": "Down"}, None) == label_fingerprint({"alertname": "Down"})
    assert fingerprint({"alertname": "Down"}, "") == label_fingerprint({"alertname": "Down"})


def test_generic_sender_fingerprint_kept_verbatim() -> None:
    [alert] = from_generic([_generic(labels={"alertname": "Down"}, fingerprint="ABC-123")])
    assert alert.fingerprint == "ABC-123"
    assert alert.source == "generic"


def test_annotations_do_not_change_the_generic_fingerprint() -> None:
    bare, noted = from_generic(
        [
            _generic(labels={"alertname": "Down", "job": "web"}),
            _generic(
                labels={"job": "web", "alertname": "Down"},
                annotations={"summary": "it is down", "runbook": "https://x"},
            ),
        ]
    )
    assert bare.fingerprint == noted.fingerprint == label_fingerprint(bare.labels)
    assert noted.annotations == {"summary": "it is down", "runbook": "https://x"}


def test_generic_labels_change_the_fingerprint() -> None:
    a, b = from_generic(
        [
            _generic(labels={"alertname": "Down", "job": "web"}),
            _generic(labels={"alertname": "Down", "job": "db"}),
        ]
    )
    assert a.fingerprint != b.fingerprint


def test_generic_severity_from_field_else_label() -> None:
    a, b, c = from_generic(
        [
            _generic(labels={"alertname": "X", "severity": "warning"}, severity="critical"),
            _generic(labels={"alertname": "X", "severity": "warning"}),
            _generic(labels={"alertname": "X"}),
        ]
    )
    assert (a.severity, b.severity, c.severity) == ("critical", "warning", None)


def test_generic_defaults_to_firing_and_naive_times_become_utc() -> None:
    [alert] = from_generic([_generic(labels={"alertname": "X"}, starts_at="2026-11-22T10:00:00")])
    assert alert.status == "firing"
    assert alert.starts_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert alert.ends_at is None


def test_from_alertmanager_keeps_alertmanager_fingerprint() -> None:
    payload = AlertmanagerPayload.model_validate(_load("alertmanager-webhook.json"))
    alerts = from_alertmanager(payload)
    assert [a.fingerprint for a in alerts] == ["a935abeedce20cc4", "3778d00114beb8b9"]
    assert all(a.source == "alertmanager" for a in alerts)
    # Verbatim, not recomputed from labels.
    assert alerts[0].fingerprint != label_fingerprint(alerts[0].labels)


def test_from_alertmanager_maps_zero_ends_at_to_none() -> None:
    raw = _load("alertmanager-webhook.json")
    assert raw["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    alerts = from_alertmanager(AlertmanagerPayload.model_validate(raw))
    first = alerts[0]
    assert first.status == "firing"
    assert first.ends_at is None
    assert first.starts_at == datetime(2026, 11, 22, 9, 42, 32, 447085, tzinfo=UTC)
    assert first.severity == "critical"
    assert first.labels["instance"] == "10.0.0.1:8080"
    assert first.annotations["summary"] == "5xx ratio above 5% on 10.0.0.1:8080"
    assert first.generator_url is not None and first.generator_url.startswith("http://")


def test_from_alertmanager_resolved_keeps_real_ends_at() -> None:
    payload = AlertmanagerPayload.model_validate(_load("alertmanager-webhook-resolved.json"))
    alerts = from_alertmanager(payload)
    assert [a.status for a in alerts] == ["resolved", "resolved"]
    assert alerts[0].ends_at == datetime(2026, 11, 22, 9, 47, 34, 951571, tzinfo=UTC)
    firing = from_alertmanager(
        AlertmanagerPayload.model_validate(_load("alertmanager-webhook.json"))
    )
    # The same alert resolved keeps the same identity.
    assert [a.fingerprint for a in alerts] == [a.fingerprint for a in firing]


def test_from_alertmanager_without_fingerprint_hashes_labels() -> None:
    raw = _load("alertmanager-webhook.json")
    for a in raw["alerts"]:
        del a["fingerprint"]
    alerts = from_alertmanager(AlertmanagerPayload.model_validate(raw))
    assert alerts[0].fingerprint == label_fingerprint(alerts[0].labels)
    assert alerts[0].fingerprint != alerts[1].fingerprint
