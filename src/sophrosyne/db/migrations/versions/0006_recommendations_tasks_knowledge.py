"""Recommendations (with attachments), tasks (with notes), runbook articles, applied fixes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("instructions_format", sa.String(length=16), nullable=False),
        sa.Column("responsible", JSON, nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("managed_by", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("name", name=op.f("uq_recommendations_name")),
    )
    op.create_table(
        "recommendation_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_recommendation_attachments_recommendation_id_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_attachments")),
        sa.UniqueConstraint(
            "recommendation_id",
            "filename",
            name=op.f("uq_recommendation_attachments_recommendation_id_filename"),
        ),
    )
    op.create_index(
        op.f("ix_recommendation_attachments_recommendation_id"),
        "recommendation_attachments",
        ["recommendation_id"],
    )
    op.create_index(
        op.f("ix_recommendation_attachments_sha256"), "recommendation_attachments", ["sha256"]
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=True),
        sa.Column("recommendation_name", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.String(length=200), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("alert_episode", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("instructions_html", sa.Text(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("responsible", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("acknowledged_at", nullable=True),
        _at("done_at", nullable=True),
        _at("dismissed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_tasks_alert_id_alerts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_tasks_recommendation_id_recommendations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_tasks_rule_id_rules"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tasks_idempotency_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tasks_alert_id"), "tasks", ["alert_id"])
    op.create_index(op.f("ix_tasks_assignee"), "tasks", ["assignee"])
    op.create_index(op.f("ix_tasks_recommendation_id"), "tasks", ["recommendation_id"])
    op.create_index("ix_tasks_state_id", "tasks", ["state", "id"])
    op.create_table(
        "task_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_notes_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_notes")),
    )
    op.create_index(op.f("ix_task_notes_task_id"), "task_notes", ["task_id"])
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=False),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("recommendations", JSON, nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        sa.Column("managed_by", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_articles_slug")),
    )
    op.create_index(op.f("ix_articles_review_by"), "articles", ["review_by"])
    op.create_table(
        "applied_fixes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("alert_episode", sa.Integer(), nullable=False),
        sa.Column("alertname", sa.String(length=200), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        _at("applied_at"),
        _at("recorded_at"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_applied_fixes_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_applied_fixes_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_applied_fixes_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applied_fixes")),
        sa.UniqueConstraint("run_id", name=op.f("uq_applied_fixes_run_id")),
        sa.UniqueConstraint("task_id", name=op.f("uq_applied_fixes_task_id")),
    )
    op.create_index(op.f("ix_applied_fixes_alert_id"), "applied_fixes", ["alert_id"])
    op.create_index(op.f("ix_applied_fixes_alertname"), "applied_fixes", ["alertname"])


def downgrade() -> None:
    op.drop_table("applied_fixes")
    op.drop_table("articles")
    op.drop_table("task_notes")
    op.drop_table("tasks")
    op.drop_table("recommendation_attachments")
    op.drop_table("recommendations")
