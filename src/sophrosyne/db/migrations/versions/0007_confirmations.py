"""Confirmations: runs pinned to what will run, with an approval policy and a deadline, and
the approvals and rejections people gave.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pin_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("approval", JSON, nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_runs_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "run_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("pin_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_approvals_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_approvals")),
        sa.UniqueConstraint("run_id", "actor", name=op.f("uq_run_approvals_run_id_actor")),
    )
    op.create_index(op.f("ix_run_approvals_run_id"), "run_approvals", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_run_approvals_run_id"), table_name="run_approvals")
    op.drop_table("run_approvals")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_expires_at"))
        batch.drop_column("expires_at")
        batch.drop_column("approval")
        batch.drop_column("pin_hash")
