"""The catalog behind the page benchmark: the admin who logs in, actions and their rules,
targets, a recommendation, runbook articles, silences, a token, a notification channel, an
on-call schedule and an escalation policy, made through the services as the
API would make them (they are few; ``pagedata`` writes the large tables in bulk)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.accounts import service as tokens
from sophrosyne.domains.accounts import users
from sophrosyne.domains.accounts.schemas import TokenCreate, UserCreate
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import ArticleSpec
from sophrosyne.domains.notifications import service as notifications
from sophrosyne.domains.notifications.models import Channel, EscalationPolicy
from sophrosyne.domains.notifications.schemas import ChannelSpec, PolicySpec
from sophrosyne.domains.oncall import service as oncall
from sophrosyne.domains.oncall.schemas import ScheduleSpec
from sophrosyne.domains.recommendations import service as recommendations
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.silences import service as silences
from sophrosyne.domains.silences.schemas import SilenceSpec
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.schemas import TargetSpec

#: The user the benchmark logs in as.
ADMIN = "benchadmin"
#: Actions (each with one rule, and one article), targets, services and hosts of the alerts.
ACTIONS, TARGETS, SERVICES, HOSTS = 20, 50, 30, 200


def catalog(sessions: sessionmaker[Session], password: str, now: datetime) -> None:
    """Actions, rules, targets, a recommendation, articles, silences, the admin user."""
    with sessions.begin() as s:
        users.create_user(s, UserCreate(username=ADMIN, role="admin", password=password), now=now)
        for i in range(ACTIONS):
            actions.create(
                s,
                ActionSpec(
                    name=f"fix-{i:02d}",
                    kind="shell",
                    description=f"Benchmark action {i}: restarts a service.",
                    argv=["true", "{{ params.service }}"],
                    parameters=[{"name": "service", "pattern": "[a-z][a-z0-9-]*"}],
                    timeout_seconds=60,
                ),
                now=now,
            )
            rules.create(
                s,
                RuleSpec(
                    name=f"rule-{i:02d}",
                    matchers=[f'alertname="PageBench{i}"'],
                    action=f"fix-{i:02d}",
                    parameters={"service": "{{ labels.service }}"},
                    mode="confirm" if i % 4 == 0 else "auto",
                ),
                now=now,
            )
        for i in range(TARGETS):
            targets.create(
                s,
                TargetSpec(name=f"host-{i:03d}", address=f"10.0.{i // 250}.{i % 250 + 1}"),
                now=now,
            )
        recommendations.create(
            s,
            RecommendationSpec(
                name="reseat-cable",
                title="Reseat the cable of {{ params.host }}",
                instructions="Walk to the rack of **{{ params.host }}**.",
                responsible=["team:dc"],
                parameters=[{"name": "host", "pattern": "[a-z0-9-]+"}],
            ),
            now=now,
        )
        for i in range(ACTIONS):
            knowledge.create(
                s,
                ArticleSpec(
                    slug=f"pagebench-{i}",
                    title=f"When PageBench{i} fires",
                    body=f"# PageBench{i}\n\nRun **fix-{i:02d}**, then check the graphs.",
                    owner="team:sre",
                    review_by=date.today() + timedelta(days=30 + i),
                    matchers=[f'alertname="PageBench{i}"'],
                ),
                now=now,
            )
        for i in range(10):
            silences.create(
                s,
                SilenceSpec(
                    matchers=[f'instance="node-{i:03d}"'],
                    comment="maintenance",
                    ends_at=now + timedelta(hours=i + 1),
                ),
                by=ADMIN,
                now=now,
            )
        tokens.create(s, TokenCreate(name="grafana", scopes=["ingest"]), now=now)
        notifications.create(s, Channel, ChannelSpec(name="ops"), now=now)
        layer = {"users": [ADMIN], "start": now.date(), "rotation": "weekly"}
        oncall.create(s, ScheduleSpec(name="primary", layers=[layer]), now=now)
        steps = [{"notify": {"schedule": "primary"}}]
        notifications.create(s, EscalationPolicy, PolicySpec(name="page-ops", steps=steps), now=now)
