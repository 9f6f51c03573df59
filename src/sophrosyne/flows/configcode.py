"""Config as code, part one: load a directory of YAML files and validate it.

This module owns reading ``*.yaml`` / ``*.yml`` files (the directory itself only, not
sub-directories, in name order; names starting with a dot are skipped as editor leftovers)
into a ``ConfigBundle`` of specs (actions, rules, targets, knowledge, grouping and inhibition
rules, notification channels, routes, on-call schedules, escalation policies), and the checks
that make a ``Report``.
Every problem carries the file and line it comes from. Problems are collected, never raised
one by one, so a user sees all of them at once.

YAML parsing with lines is ``flows.configyaml``; applying a bundle to the database is
``flows.apply``; dry runs are ``flows.dryrun``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.incidents.schemas import IncidentRuleSpec
from sophrosyne.domains.inhibitions.schemas import InhibitRuleSpec
from sophrosyne.domains.knowledge import service as knowledge
from sophrosyne.domains.knowledge.schemas import ArticleSpec
from sophrosyne.domains.maintenance.schemas import MaintenanceSpec
from sophrosyne.domains.maintenance.schemas import spec_problems as window_problems
from sophrosyne.domains.notifications.schemas import ChannelFileSpec, PolicySpec, RouteSpec
from sophrosyne.domains.oncall.schemas import ScheduleSpec
from sophrosyne.domains.recommendations.checks import spec_problems
from sophrosyne.domains.recommendations.schemas import RecommendationSpec
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.targets.schemas import SECRET_LIKE_KEYS, TargetSpec
from sophrosyne.errors import FieldError, ValidationFailed
from sophrosyne.flows import confignotify, configrules
from sophrosyne.flows.configyaml import Loc, Problem, line_of, model_problems, read_yaml

__all__ = [
    "ConfigBundle",
    "ConfigInvalid",
    "Defined",
    "Problem",
    "Report",
    "check_dir",
    "load_dir",
    "validate",
]

SpecT = TypeVar(
    "SpecT",
    ActionSpec,
    RuleSpec,
    TargetSpec,
    RecommendationSpec,
    ArticleSpec,
    IncidentRuleSpec,
    InhibitRuleSpec,
    MaintenanceSpec,
    ChannelFileSpec,
    RouteSpec,
    ScheduleSpec,
    PolicySpec,
)

SECTIONS: dict[str, type[BaseModel]] = {
    "actions": ActionSpec,
    "rules": RuleSpec,
    "targets": TargetSpec,
    "recommendations": RecommendationSpec,
    "articles": ArticleSpec,
    "incident_rules": IncidentRuleSpec,
    "inhibit_rules": InhibitRuleSpec,
    "maintenance_windows": MaintenanceSpec,
    "channels": ChannelFileSpec,
    "notification_routes": RouteSpec,
    "schedules": ScheduleSpec,
    "escalation_policies": PolicySpec,
}
#: Why a credential in a target's YAML is refused, and where it goes instead.
NO_SECRETS_IN_FILES = (
    "secrets are not allowed in config files; set them with the API "
    "(PUT /api/v1/targets/NAME/secrets/KIND) or `sophrosyne target secret set NAME KIND`"
)
SUFFIXES = (".yaml", ".yml")


@dataclass
class Report:
    """Everything wrong (errors) or suspicious (warnings) with a configuration."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Defined(Generic[SpecT]):
    """A spec with where it was written: ``file`` as shown to users, ``source_file`` as
    stored in the database (the name relative to the config directory)."""

    spec: SpecT
    file: str
    source_file: str
    section: str
    index: int

    @property
    def loc(self) -> Loc:
        return (self.section, self.index)


@dataclass
class ConfigBundle:
    """The valid specs of a config directory, the problems found loading it, and line maps."""

    root: Path
    files: list[str] = field(default_factory=list)
    actions: list[Defined[ActionSpec]] = field(default_factory=list)
    rules: list[Defined[RuleSpec]] = field(default_factory=list)
    targets: list[Defined[TargetSpec]] = field(default_factory=list)
    recommendations: list[Defined[RecommendationSpec]] = field(default_factory=list)
    articles: list[Defined[ArticleSpec]] = field(default_factory=list)
    incident_rules: list[Defined[IncidentRuleSpec]] = field(default_factory=list)
    inhibit_rules: list[Defined[InhibitRuleSpec]] = field(default_factory=list)
    maintenance_windows: list[Defined[MaintenanceSpec]] = field(default_factory=list)
    channels: list[Defined[ChannelFileSpec]] = field(default_factory=list)
    notification_routes: list[Defined[RouteSpec]] = field(default_factory=list)
    schedules: list[Defined[ScheduleSpec]] = field(default_factory=list)
    escalation_policies: list[Defined[PolicySpec]] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    lines: dict[str, dict[Loc, int]] = field(default_factory=dict)
    #: Section → names of its items that were left out as invalid (their errors are reported
    #: where they are written; references to them are not reported again as unknown names).
    invalid_names: dict[str, set[str]] = field(default_factory=dict)

    def line(self, file: str, loc: Loc) -> int:
        """The line of ``loc`` in ``file``, or of its nearest enclosing node that exists."""
        return line_of(self.lines.get(file, {}), loc)

    def problem(self, item: Defined[Any], loc: Loc, message: str) -> Problem:
        full = (*item.loc, *loc)
        return Problem(item.file, self.line(item.file, full), full, message)


class ConfigInvalid(ValidationFailed):
    """The configuration has errors; ``report`` holds them with files and lines."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(
            [FieldError(p.loc, f"{p.message} ({p.file}:{p.line})") for p in report.errors]
        )


# --- loading --------------------------------------------------------------------------------


def _load_file(path: Path, shown: str, bundle: ConfigBundle) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        bundle.errors.append(Problem(shown, 0, (), f"cannot read: {exc}"))
        return
    parsed = read_yaml(text, shown, bundle.errors)
    if parsed is None:
        return
    data, lines = parsed
    bundle.lines[shown] = lines
    if data is None:
        return
    if not isinstance(data, dict):
        bundle.errors.append(
            Problem(
                shown,
                bundle.line(shown, ()),
                (),
                "must be a mapping of actions:, rules: and targets:",
            )
        )
        return
    for key, items in data.items():
        model = SECTIONS.get(key) if isinstance(key, str) else None
        if model is None:
            bundle.errors.append(
                Problem(
                    shown,
                    bundle.line(shown, (str(key),)),
                    (str(key),),
                    f"unknown top-level key; expected one of {sorted(SECTIONS)}",
                )
            )
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            bundle.errors.append(
                Problem(shown, bundle.line(shown, (key,)), (key,), "must be a list")
            )
            continue
        for i, item in enumerate(items):
            loc: Loc = (key, i)
            if not isinstance(item, dict):
                bundle.errors.append(
                    Problem(shown, bundle.line(shown, loc), loc, "must be a mapping")
                )
                continue
            if model is TargetSpec and _secret_problems(item, loc, shown, bundle):
                continue
            if model is ChannelFileSpec:
                refused = confignotify.literal_url_problems(
                    item, loc, shown, lambda where: bundle.line(shown, where)
                )
                if refused:
                    bundle.errors += refused
                    _left_out(bundle, key, item)
                    continue
            try:
                spec = model.model_validate(item)
            except ValidationError as exc:
                bundle.errors.extend(model_problems(exc, model, loc, shown, lines))
                _left_out(bundle, key, item)
                continue
            if isinstance(spec, MaintenanceSpec):
                # Times without a zone are UTC; a window written in a file is by "config".
                spec = spec.model_copy(
                    update={
                        "starts_at": _utc(spec.starts_at),
                        "ends_at": _utc(spec.ends_at),
                        "author": spec.author or "config",
                    }
                )
            # Every section's list in the bundle is named after the section.
            defined: Defined[Any] = Defined(spec, shown, path.name, key, i)
            getattr(bundle, key).append(defined)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _left_out(bundle: ConfigBundle, section: str, item: dict[Any, Any]) -> None:
    name = item.get("name")
    if isinstance(name, str):
        bundle.invalid_names.setdefault(section, set()).add(name)


def _secret_problems(item: dict[Any, Any], loc: Loc, shown: str, bundle: ConfigBundle) -> bool:
    """Report every credential-like key of a target (True if there was one)."""
    found = False
    for name in item:
        if isinstance(name, str) and name.lower() in SECRET_LIKE_KEYS:
            where = (*loc, name)
            bundle.errors.append(
                Problem(shown, bundle.line(shown, where), where, NO_SECRETS_IN_FILES)
            )
            found = True
    return found


def load_dir(path: str | Path) -> ConfigBundle:
    """Load every ``*.yaml`` / ``*.yml`` file directly in ``path`` (not sub-directories).

    Specs that fail their schema are left out of the bundle and reported in ``errors``.
    """
    root = Path(path)
    bundle = ConfigBundle(root=root)
    if not root.is_dir():
        bundle.errors.append(Problem(str(root), 0, (), "not a directory"))
        return bundle
    files = sorted(p for p in root.iterdir() if p.suffix in SUFFIXES and not p.name.startswith("."))
    files = [p for p in files if p.is_file()]
    if not files:
        # Applying an empty directory would delete every file-managed object: refuse a typo'd path.
        bundle.errors.append(Problem(str(root), 0, (), "no *.yaml or *.yml files found"))
    for file in files:
        shown = str(file)
        bundle.files.append(shown)
        _load_file(file, shown, bundle)
    return bundle


# --- cross-file checks ----------------------------------------------------------------------


def _duplicates(bundle: ConfigBundle, items: Sequence[Defined[Any]], kind: str) -> list[Problem]:
    by_name: dict[str, list[Defined[Any]]] = {}
    for item in items:
        by_name.setdefault(item.spec.name, []).append(item)
    out = []
    for name, defs in by_name.items():
        if len(defs) < 2:
            continue
        places = [f"{d.file}:{bundle.line(d.file, (*d.loc, 'name'))}" for d in defs]
        for d, place in zip(defs, places, strict=True):
            others = ", ".join(p for p in places if p != place)
            out.append(
                bundle.problem(
                    d, ("name",), f"{kind} {name!r} is defined more than once (also at {others})"
                )
            )
    return out


def validate(
    bundle: ConfigBundle,
    *,
    known_actions: Mapping[str, ActionSpec] | None = None,
    known_recommendations: Collection[str] | None = None,
    known: confignotify.Known | None = None,
) -> Report:
    """All problems of ``bundle``: its load errors plus the checks across files.

    ``known_actions`` are actions outside the files (e.g. API-managed ones in the database)
    that rules may also use; without it the files must define every action they use.
    ``known`` does the same for the channels and schedules that routes and escalation
    policies name, and adds the users and whether channel URLs can be encrypted.
    """
    report = Report(errors=list(bundle.errors))
    report.errors += _duplicates(bundle, bundle.actions, "action")
    report.errors += _duplicates(bundle, bundle.rules, "rule")
    report.errors += _duplicates(bundle, bundle.targets, "target")
    report.errors += _duplicates(bundle, bundle.recommendations, "recommendation")
    report.errors += _duplicates(bundle, bundle.articles, "article")
    report.errors += _duplicates(bundle, bundle.incident_rules, "incident rule")
    report.errors += _duplicates(bundle, bundle.maintenance_windows, "maintenance window")
    for window in bundle.maintenance_windows:
        report.errors += [
            bundle.problem(window, e.loc, e.msg) for e in window_problems(window.spec)
        ]
    report.errors += _duplicates(bundle, bundle.channels, "channel")
    report.errors += _duplicates(bundle, bundle.notification_routes, "notification route")
    report.errors += _duplicates(bundle, bundle.schedules, "schedule")
    report.errors += _duplicates(bundle, bundle.escalation_policies, "escalation policy")
    notify_errors, notify_warnings = confignotify.problems(bundle, known)
    report.errors += notify_errors
    report.warnings += notify_warnings
    for rec in bundle.recommendations:
        report.errors += [bundle.problem(rec, e.loc, e.msg) for e in spec_problems(rec.spec)]
    for art in bundle.articles:
        report.errors += [
            bundle.problem(art, e.loc, e.msg) for e in knowledge.spec_problems(art.spec)
        ]
    actions: dict[str, ActionSpec] = {}
    for item in bundle.actions:
        actions.setdefault(item.spec.name, item.spec)
    for name, spec in (known_actions or {}).items():
        actions.setdefault(name, spec)
    for item in bundle.actions:
        report.errors += configrules.check_action(bundle, item)
    for rule in bundle.rules:
        action = actions.get(rule.spec.action) if rule.spec.action else None
        report.errors += configrules.check_rule(bundle, rule, action)
        report.errors += configrules.check_recommendation(bundle, rule, known_recommendations)
        report.warnings += configrules.label_warnings(bundle, rule)
        report.warnings += configrules.guard_warnings(bundle, rule, action)
        if not rule.spec.matchers:
            report.warnings.append(
                bundle.problem(rule, ("matchers",), "no matchers: the rule matches every alert")
            )
    return report


def check_dir(path: str | Path) -> tuple[ConfigBundle, Report]:
    """Load and validate a directory on its own (every action a rule uses must be in it)."""
    bundle = load_dir(path)
    return bundle, validate(bundle)
