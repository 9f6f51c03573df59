"""Rules that recommend: a rule may name a recommendation (its matching alerts open a task),
and a rule in mode ``recommend`` has no action. Incidents remember when they were announced
to notification routes (existing ones count as announced: they are not announced late).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.alter_column("action_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("recommendation", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("recommendation_parameters", JSON, nullable=True))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE incidents SET announced_at = opened_at")


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("announced_at")
    # Rules without an action cannot survive the old schema.
    op.execute("DELETE FROM rules WHERE action_id IS NULL")
    with op.batch_alter_table("rules") as batch:
        batch.drop_column("recommendation_parameters")
        batch.drop_column("recommendation")
        batch.alter_column("action_id", existing_type=sa.Integer(), nullable=False)
