"""Indexes the pages need at 10,000 alerts and runs: the runs of an alert (episode).

``runs.alert_id`` had no index of its own (``ix_runs_rule_alert`` leads with ``rule_id``), so
the runs of one alert (the alert page, the "did anything act on this firing" checks) were
found by reading the whole table. New alerts get ever higher ids, so new runs add to the
right-hand edge of this index, as they do to the primary key: ingest pays little for it.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_alert_episode", "runs", ["alert_id", "alert_episode"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_runs_alert_episode", table_name="runs")
