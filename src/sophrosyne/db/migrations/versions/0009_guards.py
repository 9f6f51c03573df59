"""Guards: rule guards, the kill switch, throttle groups for flapping alerts, the runs of
guarded rules and their targets (for rate limits, target cooldowns and blast radius), and
target locks that keep two runs off one target at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("guards", JSON, nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "target_concurrency", sa.Integer(), nullable=False, server_default=sa.text("1")
            )
        )
        batch.drop_index("ix_runs_action_id")
        batch.create_index("ix_runs_action_created", ["action_id", "created_at"], unique=False)
    # Runs queued by rules before this revision were automatic.
    op.execute("UPDATE runs SET automatic = true WHERE rule_id IS NOT NULL AND state = 'queued'")

    op.create_table(
        "automation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation")),
    )
    op.create_table(
        "throttle_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_throttle_groups_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["rules.id"],
            name=op.f("fk_throttle_groups_rule_id_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_groups")),
        sa.UniqueConstraint(
            "rule_id", "group_key", name=op.f("uq_throttle_groups_rule_id_group_key")
        ),
    )
    op.create_index("ix_throttle_groups_due_at", "throttle_groups", ["due_at"], unique=False)
    op.create_table(
        "guarded_runs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["rules.id"],
            name=op.f("fk_guarded_runs_rule_id_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_guarded_runs_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "target", name=op.f("pk_guarded_runs")),
    )
    op.create_index(
        "ix_guarded_runs_rule_created", "guarded_runs", ["rule_id", "created_at"], unique=False
    )
    op.create_table(
        "target_locks",
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_target_locks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_target_locks")),
    )
    op.create_index(op.f("ix_target_locks_run_id"), "target_locks", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_target_locks_run_id"), table_name="target_locks")
    op.drop_table("target_locks")
    op.drop_index("ix_guarded_runs_rule_created", table_name="guarded_runs")
    op.drop_table("guarded_runs")
    op.drop_index("ix_throttle_groups_due_at", table_name="throttle_groups")
    op.drop_table("throttle_groups")
    op.drop_table("automation")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_action_created")
        batch.create_index("ix_runs_action_id", ["action_id"], unique=False)
        batch.drop_column("target_concurrency")
        batch.drop_column("automatic")
    with op.batch_alter_table("rules") as batch:
        batch.drop_column("guards")
