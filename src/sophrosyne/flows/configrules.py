"""Config as code: the checks of actions and rules in a loaded bundle (templates that do not
parse, actions a rule names but nobody defines, parameters and targets the action refuses,
labels a template reads that no matcher guarantees, guards that can never apply). Each returns
problems located at the file and line they come from; ``flows.configcode.validate`` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from sophrosyne import templating
from sophrosyne.domains.actions.kinds import target_problems
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.rules.checks import parameter_problems
from sophrosyne.domains.rules.matching import parse_matchers
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.executors.ansible import resolve_playbook
from sophrosyne.flows.configyaml import Problem

if TYPE_CHECKING:  # configcode imports this module to run its checks
    from sophrosyne.flows.configcode import ConfigBundle, Defined


def label_warnings(bundle: ConfigBundle, rule: Defined[RuleSpec]) -> list[Problem]:
    """Labels a parameter template reads that no matcher of the rule guarantees."""
    guaranteed = {m.name for m in parse_matchers(rule.spec.matchers) if m.guarantees_label()}
    out = []
    for pname, source in rule.spec.parameters.items():
        if not templating.is_template(source):
            continue
        # A ``default`` filter or ``labels.get(…)`` handles a missing label on purpose.
        if re.search(r"\|\s*(default|d)\b", source):
            continue
        try:
            used = templating.attribute_references(source, "labels")
        except templating.TemplateFailed:
            continue  # reported as an error
        if "labels.get(" in source.replace(" ", ""):
            used.discard("get")
        for label in sorted(used - guaranteed):
            out.append(
                bundle.problem(
                    rule,
                    ("parameters", pname),
                    f"uses labels.{label} but no matcher guarantees that label; the run would "
                    f'fail with template_error for alerts without it (add e.g. {label}!="")',
                )
            )
    return out


def check_rule(
    bundle: ConfigBundle, rule: Defined[RuleSpec], action: ActionSpec | None
) -> list[Problem]:
    spec = rule.spec
    out: list[Problem] = []
    for pname, source in spec.parameters.items():
        try:
            templating.check_syntax(source)
        except templating.TemplateFailed as exc:
            out.append(bundle.problem(rule, ("parameters", pname), str(exc)))
    if spec.action is None:
        return out  # mode recommend: checked by check_recommendation
    if action is None:
        out.append(bundle.problem(rule, ("action",), f"no action named {spec.action!r} is defined"))
        return out
    out.extend(
        bundle.problem(rule, problem.loc, problem.msg)
        for problem in parameter_problems(action.name, spec.parameters, action.parameters)
    )
    selection = spec.targets.model_dump(exclude_none=True) if spec.targets else None
    out.extend(
        bundle.problem(rule, problem.loc, problem.msg)
        for problem in target_problems(action.name, action.kind, action.section(), selection)
    )
    return out


def check_recommendation(
    bundle: ConfigBundle, rule: Defined[RuleSpec], known: Collection[str] | None
) -> list[Problem]:
    """A rule's recommendation must be defined in the files (or be ``known`` elsewhere)."""
    name = rule.spec.recommendation
    defined = {r.spec.name for r in bundle.recommendations} | set(known or ())
    if name is None or name in defined:
        return []
    return [bundle.problem(rule, ("recommendation",), f"no recommendation named {name!r}")]


def guard_warnings(
    bundle: ConfigBundle, rule: Defined[RuleSpec], action: ActionSpec | None
) -> list[Problem]:
    """Guards that can never apply: target guards on a rule whose runs address no target."""
    guards = rule.spec.guards
    if guards is None or rule.spec.targets is not None:
        return []
    if action is not None and action.needs_targets():
        return []  # an error says the rule needs a target selection
    unused = [
        name
        for name, on in (
            ("max_targets", guards.max_targets is not None),
            ("max_targets_per_window", guards.max_targets_per_window is not None),
            ("target_cooldown_seconds", guards.target_cooldown_seconds > 0),
        )
        if on
    ]
    return [
        bundle.problem(
            rule,
            ("guards", name),
            "has no effect: the rule selects no targets (add targets: to the rule)",
        )
        for name in unused
    ]


def check_action(bundle: ConfigBundle, item: Defined[ActionSpec]) -> list[Problem]:
    out = []
    for i, element in enumerate(item.spec.argv):
        try:
            templating.check_syntax(element)
        except templating.TemplateFailed as exc:
            out.append(bundle.problem(item, ("argv", i), str(exc)))
    if item.spec.ansible is not None:
        # The worker resolves playbooks under the config directory; say now if it is missing.
        try:
            resolve_playbook(bundle.root, Path(item.spec.ansible.playbook))
        except (OSError, ValueError) as exc:
            out.append(bundle.problem(item, ("ansible", "playbook"), f"not usable: {exc}"))
    return out
