"""Indexes the alert-fatigue report needs: the firings of a window, and the state changes of
one alert episode, both read from the index alone.

* ``ix_alert_events_status_at (to_status, at, alert_id, episode)``: the firings in a window
  are a range of this index (no scan of the whole history), and it holds every column the
  report reads of them.
* ``ix_alert_events_alert_episode (alert_id, episode, to_status, at)``: the resolve of an
  episode, or of the one before, is one lookup with its time in the index. It starts with
  ``alert_id``, so it replaces ``ix_alert_events_alert_id``: ingest writes one index more per
  state change than before, not two.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_alert_events_status_at",
        "alert_events",
        ["to_status", "at", "alert_id", "episode"],
        unique=False,
    )
    op.create_index(
        "ix_alert_events_alert_episode",
        "alert_events",
        ["alert_id", "episode", "to_status", "at"],
        unique=False,
    )
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")


def downgrade() -> None:
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"], unique=False)
    op.drop_index("ix_alert_events_alert_episode", table_name="alert_events")
    op.drop_index("ix_alert_events_status_at", table_name="alert_events")
