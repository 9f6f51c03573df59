"""``maintenance_windows:`` in config as code: validated with file:line:field, applied as
file-managed (read-only through the API), re-applying changes nothing, removing deletes; and
the real ``sophrosyne validate`` command picks the section up."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.maintenance import service as maintenance
from sophrosyne.errors import Conflict, ReadOnly
from sophrosyne.flows.apply import apply
from sophrosyne.flows.configcode import ConfigInvalid, check_dir, load_dir
from tests.cli.helpers import sophrosyne

WINDOWS = """
maintenance_windows:
  - name: db-patching
    comment: monthly kernel patching
    target_selector: ['role="db"']
    recurrence:
      frequency: monthly
      days_of_month: [1]
      start_time: "02:00"
      duration_minutes: 120
      timezone: Europe/Paris
  - name: dc-move
    comment: moving racks
    matchers: ['dc="par1"']
    starts_at: 2026-12-01T08:00:00
    ends_at: 2026-12-01T18:00:00
"""


def _dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "maintenance.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_windows_are_applied_file_managed_and_reapplying_changes_nothing(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    summary = apply(session, load_dir(_dir(tmp_path, WINDOWS)), actor="cli", now=now)
    assert sorted(str(c) for c in summary.changes) == [
        "created maintenance_window db-patching",
        "created maintenance_window dc-move",
    ]
    stored = maintenance.get_by_name(session, "dc-move")
    assert (stored.managed_by, stored.source_file, stored.author) == (
        "file",
        "maintenance.yaml",
        "config",
    )
    assert stored.starts_at is not None and stored.starts_at.utcoffset() is not None
    out = maintenance.to_out(maintenance.get_by_name(session, "db-patching"), now)
    assert out.state == "scheduled" and len(out.next_occurrences) == 5
    assert apply(session, load_dir(tmp_path), actor="cli", now=now).changes == []
    with pytest.raises(ReadOnly):
        maintenance.delete(session, "dc-move")
    # Removed from the files: deleted, audited.
    _dir(tmp_path, WINDOWS.split("  - name: dc-move", maxsplit=1)[0])
    summary = apply(session, load_dir(tmp_path), actor="cli", now=now)
    assert [str(c) for c in summary.changes] == ["deleted maintenance_window dc-move"]
    assert maintenance.find_by_name(session, "dc-move") is None
    actions = [e.action for e in audit.search(session) if e.object_type == "maintenance_window"]
    assert sorted(actions) == [
        "maintenance_window.created",
        "maintenance_window.created",
        "maintenance_window.deleted",
    ]


def test_a_file_window_may_not_take_an_api_windows_name(
    session: Session, now: datetime, tmp_path: Path
) -> None:
    api_made = load_dir(_dir(tmp_path, WINDOWS)).maintenance_windows[1].spec
    maintenance.create(session, api_made, by="alice", now=now)
    with pytest.raises(Conflict, match=r"maintenance\.yaml:\d+: maintenance window 'dc-move'"):
        apply(session, load_dir(tmp_path), actor="cli", now=now)


BAD = """
maintenance_windows:
  - name: a
    comment: x
    targets: [db-1]
    matchers: ['dc="par1"', "nonsense"]
    starts_at: 2026-12-01T08:00:00
    ends_at: 2026-12-01T09:00:00
  - name: b
    comment: y
    targets: [db-1]
    recurrence:
      frequency: weekly
      start_time: "25:00"
      duration_minutes: 60
      timezone: Europe/Nowhere
  - name: c
    comment: z
    targets: []
    starts_at: 2026-12-01T08:00:00
    ends_at: 2026-12-01T07:00:00
  - name: c
    comment: again
    targets: [db-2]
    recurrence: {frequency: weekly, start_time: "01:00", duration_minutes: 5}
"""


def test_bad_windows_are_reported_with_file_line_and_field(tmp_path: Path) -> None:
    _, report = check_dir(_dir(tmp_path, BAD))
    got = {(p.line, ".".join(str(x) for x in p.loc)) for p in report.errors}
    assert got == {
        (6, "maintenance_windows.0.matchers.1"),
        (14, "maintenance_windows.1.recurrence.start_time"),
        (16, "maintenance_windows.1.recurrence.timezone"),
        (19, "maintenance_windows.2.targets"),
        (21, "maintenance_windows.2.ends_at"),
        (17, "maintenance_windows.2.name"),  # defined twice
        (22, "maintenance_windows.3.name"),
        (25, "maintenance_windows.3.recurrence.days"),  # weekly, but no days
    }
    assert all(p.file.endswith("maintenance.yaml") for p in report.errors)


def test_apply_refuses_invalid_windows(session: Session, now: datetime, tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid):
        apply(session, load_dir(_dir(tmp_path, BAD)), actor="cli", now=now)


def test_validate_command_counts_and_reports_windows(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    result = sophrosyne("validate", _dir(good, WINDOWS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0 actions, 0 rules, 2 maintenance windows: OK"]
    bad = tmp_path / "bad"
    bad.mkdir()
    result = sophrosyne("validate", _dir(bad, BAD))
    assert result.returncode == 1
    assert "maintenance.yaml:21: maintenance_windows[2].ends_at: must be after starts_at" in (
        result.stdout + result.stderr
    )
