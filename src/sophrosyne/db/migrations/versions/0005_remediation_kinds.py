"""Remediation kinds: action settings per kind, rule target selection, runs on targets with
per-target results, and run output kept in chunks as it arrives (for live streaming).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("spec", JSON, nullable=False, server_default=EMPTY_OBJECT))
    with op.batch_alter_table("rules") as batch:
        batch.add_column(sa.Column("targets", JSON, nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("targets", JSON, nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("request", JSON, nullable=False, server_default=EMPTY_OBJECT))
        batch.add_column(sa.Column("results", JSON, nullable=False, server_default=EMPTY_LIST))
    op.create_table(
        "run_output",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_output_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_output")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_run_output_run_id_seq")),
    )


def downgrade() -> None:
    op.drop_table("run_output")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("results")
        batch.drop_column("request")
        batch.drop_column("targets")
    with op.batch_alter_table("rules") as batch:
        batch.drop_column("targets")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("spec")
