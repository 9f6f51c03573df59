"""Notifications and on-call: channels (apprise URLs encrypted), routes, escalation policies,
the record of every notification, escalations under way, schedules and their overrides.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _owned() -> list[sa.Column]:
    return [
        sa.Column("managed_by", sa.String(16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("url_env", sa.String(200), nullable=True),
        sa.Column("urls_ciphertext", sa.Text(), nullable=True),
        *_owned(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channels_name")),
    )
    op.create_table(
        "notification_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        sa.Column("min_severity", sa.String(32), nullable=True),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("title_template", sa.Text(), nullable=True),
        sa.Column("body_template", sa.Text(), nullable=True),
        *_owned(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_routes")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_routes_name")),
    )
    op.create_table(
        "escalation_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        *_owned(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_escalation_policies_name")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("route", sa.String(200), nullable=True),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_subject", "notifications", ["subject_kind", "subject_id"])
    op.create_index("ix_notifications_status", "notifications", ["status"])
    op.create_table(
        "escalation_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("subject", JSON, nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("next_at", TS, nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_states")),
        sa.UniqueConstraint(
            "subject_kind", "subject_id", name=op.f("uq_escalation_states_subject_kind_subject_id")
        ),
    )
    op.create_index(op.f("ix_escalation_states_status"), "escalation_states", ["status"])
    op.create_index(op.f("ix_escalation_states_next_at"), "escalation_states", ["next_at"])
    op.create_table(
        "oncall_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("layers", JSON, nullable=False),
        *_owned(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_oncall_schedules_name")),
    )
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["oncall_schedules.id"],
            name=op.f("fk_oncall_overrides_schedule_id_oncall_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_overrides")),
    )
    op.create_index(op.f("ix_oncall_overrides_schedule_id"), "oncall_overrides", ["schedule_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_oncall_overrides_schedule_id"), table_name="oncall_overrides")
    op.drop_table("oncall_overrides")
    op.drop_table("oncall_schedules")
    op.drop_index(op.f("ix_escalation_states_next_at"), table_name="escalation_states")
    op.drop_index(op.f("ix_escalation_states_status"), table_name="escalation_states")
    op.drop_table("escalation_states")
    op.drop_index("ix_notifications_status", table_name="notifications")
    op.drop_index("ix_notifications_subject", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("escalation_policies")
    op.drop_table("notification_routes")
    op.drop_table("notification_channels")
