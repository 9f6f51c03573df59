"""Maintenance windows: one-off or recurring times in which alerts on the targets (or matching
the matchers) in scope trigger no automation, and no automatic run starts on those targets.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("target_selector", JSON, nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        sa.Column("from_label", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recurrence", JSON, nullable=True),
        sa.Column("cut_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed_by", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
        sa.UniqueConstraint("name", name=op.f("uq_maintenance_windows_name")),
    )


def downgrade() -> None:
    op.drop_table("maintenance_windows")
