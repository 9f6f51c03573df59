"""Incidents: incidents, their alerts, their stored timeline, and grouping rules.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _who(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length=200), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=64), nullable=True),
        _who("service"),
        sa.Column("group_key", sa.String(length=255), nullable=True),
        _who("rule_name"),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        _who("assignee"),
        _who("commander"),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("follow_ups", JSON, nullable=False),
        _who("opened_by", nullable=False),
        _at("opened_at"),
        _at("acknowledged_at", nullable=True),
        _who("acknowledged_by"),
        _at("ack_expires_at", nullable=True),
        _at("resolved_at", nullable=True),
        _who("resolved_by"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_incidents_group_key_status", "incidents", ["group_key", "status"])
    op.create_index("ix_incidents_status_id", "incidents", ["status", "id"])
    op.create_index(op.f("ix_incidents_severity"), "incidents", ["severity"])
    op.create_index(op.f("ix_incidents_service"), "incidents", ["service"])
    op.create_index(op.f("ix_incidents_assignee"), "incidents", ["assignee"])
    op.create_index(op.f("ix_incidents_opened_at"), "incidents", ["opened_at"])
    op.create_table(
        "incident_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("first_attached_at"),
        _at("last_attached_at"),
        _at("resolved_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_incident_alerts_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_alerts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_alerts")),
        sa.UniqueConstraint(
            "incident_id", "alert_id", name=op.f("uq_incident_alerts_incident_id_alert_id")
        ),
    )
    op.create_index(op.f("ix_incident_alerts_alert_id"), "incident_alerts", ["alert_id"])
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        _at("at"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        _who("actor", nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("ref_type", sa.String(length=32), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_timeline_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
    )
    op.create_index(op.f("ix_incident_timeline_incident_id"), "incident_timeline", ["incident_id"])
    op.create_table(
        "incident_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("matchers", JSON, nullable=False),
        sa.Column("group_by", JSON, nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        sa.Column("managed_by", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_incident_rules_name")),
    )


def downgrade() -> None:
    op.drop_table("incident_rules")
    op.drop_table("incident_timeline")
    op.drop_table("incident_alerts")
    op.drop_table("incidents")
