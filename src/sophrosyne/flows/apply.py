"""Config as code, part two: make the database hold what the files say.

This module owns ``apply``: file-managed actions, rules and targets (and, through
``flows.applyknowledge`` / ``applyincidents`` / ``applynotify``, the other sections) are
created, updated or deleted by name through the domain services, each change audited in the caller's
transaction. Objects whose spec did not change are not touched, so their ``updated_at``
(which the rules cache keys on) stays put. Nothing changes at all when the files are invalid
or clash with objects managed through the API. The caller commits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sophrosyne.crypto import Keyring
from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.models import Action
from sophrosyne.domains.audit import service as audit
from sophrosyne.domains.recommendations import service as recommendations_service
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.models import Rule
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.targets import service as targets
from sophrosyne.domains.targets.models import Target
from sophrosyne.errors import Conflict
from sophrosyne.flows import applyincidents, applyknowledge, applymaintenance, applynotify
from sophrosyne.flows.configcode import (
    ConfigBundle,
    ConfigInvalid,
    Defined,
    Problem,
    validate,
)
from sophrosyne.logging import get_logger

log = get_logger(__name__)

FILE = "file"


@dataclass(frozen=True)
class Change:
    """One object created, updated or deleted; ``fields`` says what an update changed."""

    verb: str
    kind: str
    name: str
    source_file: str | None
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.verb} {self.kind} {self.name}{what}"


@dataclass
class ApplySummary:
    """What ``apply`` did, and the warnings of the configuration it applied."""

    changes: list[Change] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def count(self, verb: str) -> int:
        return sum(1 for c in self.changes if c.verb == verb)

    def totals(self) -> str:
        return (
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('deleted')} deleted, {len(self.unchanged)} unchanged"
        )


def _rule_spec(rule: Rule, action_names: dict[int, str]) -> RuleSpec | None:
    """The spec a stored rule was made from; None if it no longer passes today's schema."""
    try:
        return RuleSpec.model_validate(
            {
                "name": rule.name,
                "description": rule.description,
                "enabled": rule.enabled,
                "matchers": rule.matchers,
                "on_status": rule.on_status,
                "action": (
                    action_names.get(rule.action_id, "") if rule.action_id is not None else None
                ),
                "parameters": rule.parameters,
                "recommendation": rule.recommendation,
                "recommendation_parameters": rule.recommendation_parameters or {},
                "mode": rule.mode,
                "cooldown_seconds": rule.cooldown_seconds,
                "targets": rule.targets,
                "guards": rule.guards,
            }
        )
    except ValidationError:
        return None


def _diff(old: BaseModel | None, new: BaseModel) -> dict[str, list[Any]]:
    """Field → [before, after] for every field that differs (all of them if ``old`` is None)."""
    after = new.model_dump(mode="json")
    before = old.model_dump(mode="json") if old is not None else {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _refuse_clashes(
    bundle: ConfigBundle,
    db_actions: dict[str, Action],
    db_rules: dict[str, Rule],
    db_targets: dict[str, Target],
) -> None:
    """A file object may not take over a name managed elsewhere (the API, the UI)."""
    clashes: list[str] = []
    items: list[tuple[str, Defined[Any], Action | Rule | Target | None]] = [
        ("action", a, db_actions.get(a.spec.name)) for a in bundle.actions
    ] + [("rule", r, db_rules.get(r.spec.name)) for r in bundle.rules]
    items += [("target", t, db_targets.get(t.spec.name)) for t in bundle.targets]
    for kind, item, existing in items:
        if existing is not None and existing.managed_by != FILE:
            line = bundle.line(item.file, (*item.loc, "name"))
            clashes.append(
                f"{item.file}:{line}: {kind} {item.spec.name!r} is already managed by "
                f"{existing.managed_by}"
            )
    if clashes:
        raise Conflict(
            "; ".join(clashes) + " — rename the object in the file, or delete the other first"
        )


def _refuse_orphans(session: Session, doomed: dict[str, Action]) -> None:
    """An action about to be deleted must not be used by a rule that stays (an API rule)."""
    if not doomed:
        return
    by_id = {a.id: name for name, a in doomed.items()}
    users = session.execute(
        select(Rule.name, Rule.action_id).where(
            Rule.action_id.in_(list(by_id)), Rule.managed_by != FILE
        )
    ).all()
    if users:
        raise Conflict(
            "; ".join(
                f"action {by_id[action_id]!r} was removed from the files but rule {name!r} "
                "(not file-managed) uses it"
                for name, action_id in users
                if action_id is not None
            )
        )


def _audit(
    session: Session,
    change: Change,
    object_id: int,
    detail: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"{change.kind}.{change.verb}",
        object_type=change.kind,
        object_id=object_id,
        detail={"name": change.name, "managed_by": FILE, "source_file": change.source_file}
        | detail,
        now=now,
    )


def _upsert(
    session: Session,
    kind: str,
    items: Sequence[Defined[Any]],
    stored: Mapping[str, Any],
    *,
    current: Callable[[Any], BaseModel | None],
    create: Callable[..., Any],
    update: Callable[..., Any],
    summary: ApplySummary,
    done: Callable[[Change, int, dict[str, Any]], None],
    now: datetime,
) -> None:
    """Create what is new, update what changed, leave the rest untouched (one kind)."""
    for item in items:
        spec, existing = item.spec, stored.get(item.spec.name)
        if existing is None:
            made = create(session, spec, now=now, managed_by=FILE, source_file=item.source_file)
            detail = {"spec": spec.model_dump(mode="json")}
            done(Change("created", kind, spec.name, item.source_file), made.id, detail)
            continue
        changed = _diff(current(existing), spec)
        if existing.source_file != item.source_file:
            changed["source_file"] = [existing.source_file, item.source_file]
        if not changed:
            summary.unchanged.append((kind, spec.name))
            continue
        update(session, spec.name, spec, now=now, managed_by=FILE, source_file=item.source_file)
        change = Change("updated", kind, spec.name, item.source_file, tuple(changed))
        done(change, existing.id, {"changes": changed})


def apply(
    session: Session,
    bundle: ConfigBundle,
    *,
    actor: str,
    now: datetime,
    keyring: Keyring | None = None,
) -> ApplySummary:
    """Upsert the bundle's actions, rules and targets as file-managed, delete file-managed
    objects the files no longer define, and audit each change. Raises ``ConfigInvalid`` or
    ``Conflict`` before changing anything; the caller commits (or rolls back on any error).
    ``keyring`` encrypts the channel URLs read from the variables and files channels name
    (without one, such channels are a validation error)."""
    db_actions = {a.name: a for a in actions.list_all(session)}
    db_rules = {r.name: r for r in rules.list_all(session)}
    # Rules in files may also use actions managed through the API.
    file_action_names = {a.spec.name for a in bundle.actions}
    known = {
        name: actions.to_spec(a)
        for name, a in db_actions.items()
        if a.managed_by != FILE and name not in file_action_names
    }
    # ... and recommendations managed through the API.
    file_recs = {r.spec.name for r in bundle.recommendations}
    known_recs = {
        r.name
        for r in recommendations_service.list_all(session)
        if r.managed_by != FILE and r.name not in file_recs
    }
    report = validate(
        bundle,
        known_actions=known,
        known_recommendations=known_recs,
        known=applynotify.known(session, bundle, keyring=keyring),
    )
    if not report.ok:
        raise ConfigInvalid(report)
    db_targets = {t.name: t for t in targets.list_all(session)}
    _refuse_clashes(bundle, db_actions, db_rules, db_targets)
    file_rule_names = {r.spec.name for r in bundle.rules}
    doomed_rules = [
        r for n, r in db_rules.items() if r.managed_by == FILE and n not in file_rule_names
    ]
    doomed_actions = {
        n: a for n, a in db_actions.items() if a.managed_by == FILE and n not in file_action_names
    }
    _refuse_orphans(session, doomed_actions)
    applyknowledge.refuse_clashes(session, bundle)
    applymaintenance.refuse_clashes(session, bundle)
    applynotify.refuse_conflicts(session, bundle)

    summary = ApplySummary(warnings=list(report.warnings))

    def done(change: Change, object_id: int, detail: dict[str, Any]) -> None:
        summary.changes.append(change)
        _audit(session, change, object_id, detail, actor=actor, now=now)

    # Order matters for the RESTRICT foreign key: rules that go away first, then actions in,
    # rules in, and only then actions out (a kept rule may just have moved off one).
    for rule in doomed_rules:
        rules.delete(session, rule.name, managed_by=FILE)
        done(Change("deleted", "rule", rule.name, rule.source_file), rule.id, {})

    _upsert(
        session,
        "action",
        bundle.actions,
        db_actions,
        current=actions.to_spec,
        create=actions.create,
        update=actions.update,
        summary=summary,
        done=done,
        now=now,
    )

    applyknowledge.upsert(
        session, bundle, upsert=functools.partial(_upsert, summary=summary, done=done), now=now
    )

    action_names = {a.id: n for n, a in db_actions.items()}
    _upsert(
        session,
        "rule",
        bundle.rules,
        db_rules,
        current=lambda rule: _rule_spec(rule, action_names),
        create=rules.create,
        update=rules.update,
        summary=summary,
        done=done,
        now=now,
    )

    for name, action in doomed_actions.items():
        actions.delete(session, name, managed_by=FILE)
        done(Change("deleted", "action", name, action.source_file), action.id, {})

    _apply_targets(session, bundle, db_targets, summary, done, now=now)
    applyknowledge.delete_removed(
        session,
        bundle,
        done=lambda verb, kind, name, source, object_id: done(
            Change(verb, kind, name, source), object_id, {}
        ),
    )

    applymaintenance.apply(
        session,
        bundle,
        upsert=functools.partial(_upsert, summary=summary, done=done),
        done=lambda verb, kind, name, source, object_id: done(
            Change(verb, kind, name, source), object_id, {}
        ),
        now=now,
    )

    def record(
        verb: str, kind: str, name: str, *, source: str | None, object_id: int, detail: Any
    ) -> None:
        fields = tuple(detail.get("changes", ())) if verb == "updated" else ()
        done(Change(verb, kind, name, source, fields), object_id, detail)

    applynotify.upsert(
        session,
        bundle,
        upsert=functools.partial(_upsert, summary=summary, done=done),
        keyring=keyring,
        record=record,
        unchanged=lambda kind, name: summary.unchanged.append((kind, name)),
        now=now,
    )
    applynotify.delete_removed(session, bundle, record=record)

    if applyincidents.apply(session, bundle, actor=actor, now=now):
        summary.changes.append(Change("updated", "incident_rules", "incident_rules", None))
    if applyincidents.apply_inhibitions(session, bundle, actor=actor, now=now):
        summary.changes.append(Change("updated", "inhibit_rules", "inhibit_rules", None))

    log.info(
        "config.applied",
        actor=actor,
        created=summary.count("created"),
        updated=summary.count("updated"),
        deleted=summary.count("deleted"),
        unchanged=len(summary.unchanged),
    )
    return summary


def _apply_targets(
    session: Session,
    bundle: ConfigBundle,
    db_targets: dict[str, Target],
    summary: ApplySummary,
    done: Callable[[Change, int, dict[str, Any]], None],
    *,
    now: datetime,
) -> None:
    """Targets as the files say. Their credentials are never in files, so an unchanged or
    updated target keeps the ones set through the API; a deleted one loses them."""
    _upsert(
        session,
        "target",
        bundle.targets,
        db_targets,
        current=targets.to_spec,
        create=targets.create,
        update=targets.update,
        summary=summary,
        done=done,
        now=now,
    )
    in_files = {t.spec.name for t in bundle.targets}
    for name, target in db_targets.items():
        if target.managed_by == FILE and name not in in_files:
            targets.delete(session, name, managed_by=FILE)
            done(Change("deleted", "target", name, target.source_file), target.id, {})
