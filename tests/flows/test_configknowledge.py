"""Recommendations and runbook articles as code: located errors, apply, read-only, removal."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.errors import Conflict, ReadOnly
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import ConfigInvalid, check_dir, load_dir

PEOPLE = """\
recommendations:
  - name: replace-disk
    title: "Replace {{ params.device }} on {{ params.host }}"
    responsible: [team:storage, alice]
    parameters:
      - {name: host}
      - {name: device, pattern: "sd[a-z]"}
    instructions: |
      1. Check `smartctl -a /dev/{{ params.device }}`.
      2. Call the provider.
articles:
  - slug: disk-failures
    title: Disk failures
    owner: team:storage
    review_by: 2026-01-31
    recommendations: [replace-disk]
    matchers: ['alertname="DiskFailed"']
    body: |
      # When a disk fails
      Follow the recommendation.
"""


def write(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    (directory / "people.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def test_valid_files_load(tmp_path: Path) -> None:
    bundle, report = check_dir(write(tmp_path, PEOPLE))
    assert report.ok, [str(p) for p in report.errors]
    assert [r.spec.name for r in bundle.recommendations] == ["replace-disk"]
    assert [a.spec.slug for a in bundle.articles] == ["disk-failures"]


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = PEOPLE.replace(
        "      2. Call the provider.", '      2. <img src=x onerror="alert(1)"> Call.'
    ).replace("matchers: ['alertname=\"DiskFailed\"']", "matchers: ['alertname=~\"(\"']")
    bad += (
        "  - slug: disk-failures\n    title: again\n    owner: me\n    review_by: 2027-01-01\n"
        "    body: '[x](javascript:alert(1))'\n"
    )
    _bundle, report = check_dir(write(tmp_path, bad))
    assert sorted(str(p).split("people.yaml:")[1] for p in report.errors) == [
        "17: articles[0].matchers[0]: bad regular expression in 'alertname=~\"(\"': missing ), "
        "unterminated subpattern at position 0",
        "25: articles[1].body: must not contain scripts, event handlers or unsafe links "
        "(found javascript: URL); allowed URL schemes are http, https, mailto",
        "8: recommendations[0].instructions: must not contain scripts, event handlers or unsafe "
        "links (found onerror=); allowed URL schemes are http, https, mailto",
    ]


def test_duplicate_slugs_are_errors(tmp_path: Path) -> None:
    twice = PEOPLE + (
        "  - {slug: disk-failures, title: again, owner: me, review_by: 2027-01-01, body: x}\n"
    )
    _bundle, report = check_dir(write(tmp_path, twice))
    assert len(report.errors) == 2
    assert all("article 'disk-failures' is defined more than once" in str(p) for p in report.errors)


def _count(session: Session, action: str) -> int:
    return len(session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_apply_creates_updates_and_deletes(session: Session, now: datetime, tmp_path: Path) -> None:
    directory = write(tmp_path, PEOPLE)
    summary = apply(session, load_dir(directory), actor="test", now=now)
    session.commit()
    assert sorted(str(c) for c in summary.changes) == [
        "created article disk-failures",
        "created recommendation replace-disk",
    ]
    rec = recommendations.get_by_name(session, "replace-disk")
    assert (rec.managed_by, rec.source_file, rec.responsible) == (
        "file",
        "people.yaml",
        ["team:storage", "alice"],
    )
    assert [a.slug for a in knowledge.overdue(session, today=now.date())] == ["disk-failures"]
    with pytest.raises(ReadOnly):
        recommendations.update(session, "replace-disk", recommendations.to_spec(rec), now=now)

    again = apply(session, load_dir(directory), actor="test", now=now + timedelta(hours=1))
    assert again.changes == [] and len(again.unchanged) == 2
    write(tmp_path, PEOPLE.replace("review_by: 2026-01-31", "review_by: 2027-06-30"))
    changed = apply(session, load_dir(directory), actor="test", now=now)
    assert [str(c) for c in changed.changes] == ["updated article disk-failures (review_by)"]
    assert knowledge.overdue(session, today=now.date()) == []

    write(tmp_path, "actions:\n  - {name: noop, argv: ['true']}\n")
    gone = apply(session, load_dir(directory), actor="test", now=now)
    session.commit()
    assert sorted(str(c) for c in gone.changes) == [
        "created action noop",
        "deleted article disk-failures",
        "deleted recommendation replace-disk",
    ]
    assert recommendations.list_all(session) == [] and knowledge.list_all(session) == []
    assert _count(session, "recommendation.deleted") == 1
    assert _count(session, "article.created") == 1


def test_files_cannot_take_over_api_objects(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    recommendations.create(
        session,
        RecommendationSpec(name="replace-disk", title="mine", instructions="mine"),
        now=now,
    )
    session.commit()
    with pytest.raises(Conflict, match="recommendation 'replace-disk' is already managed by api"):
        apply(session, load_dir(write(tmp_path, PEOPLE)), actor="test", now=now)
    session.rollback()
    assert knowledge.list_all(session) == []


def test_invalid_files_apply_nothing(session: Session, now: datetime, tmp_path: Path) -> None:
    bad = PEOPLE.replace("Call the provider.", "<script>alert(1)</script>")
    with pytest.raises(ConfigInvalid):
        apply(session, load_dir(write(tmp_path, bad)), actor="test", now=now)
    session.rollback()
    assert recommendations.list_all(session) == []
