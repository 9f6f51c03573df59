"""Loading and validating config directories: every problem names its file, line and path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.flows.configcode import Problem, Report, check_dir, load_dir, validate

DEMO = Path(__file__).resolve().parents[2] / "demo"

ACTIONS = """\
actions:
  - name: restart
    argv: ["/bin/echo", "restart", "{{ params.service }}", "{{ params.grace }}"]
    parameters:
      - name: service
        pattern: "[a-z]+"
      - name: grace
        type: int
        default: 5
"""

RULES = """\
rules:
  - name: restart-on-down
    matchers:
      - alertname="Down"
      - service!=""
    action: restart
    parameters:
      service: "{{ labels.service }}"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def errors_of(directory: Path) -> list[Problem]:
    return check_dir(directory)[1].errors


def test_good_directory_loads(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(tmp_path, "rules.yml", RULES)
    write(tmp_path, "notes.txt", "not yaml: [")  # other files are ignored
    write(tmp_path, ".editor-swap.yaml", "::: broken")  # hidden files too
    bundle, report = check_dir(tmp_path)
    assert report == Report()
    assert [a.spec.name for a in bundle.actions] == ["restart"]
    assert [r.spec.name for r in bundle.rules] == ["restart-on-down"]
    assert bundle.rules[0].source_file == "rules.yml"
    assert bundle.rules[0].file == str(tmp_path / "rules.yml")
    assert bundle.files == [str(tmp_path / "actions.yaml"), str(tmp_path / "rules.yml")]


def test_demo_configuration_is_valid_without_warnings() -> None:
    bundle, report = check_dir(DEMO)
    assert report.errors == [] and report.warnings == []
    kinds = {a.spec.name: a.spec.kind for a in bundle.actions}
    assert kinds == {
        "restart-service": "shell",
        "collect-disk-report": "script",
        "check-sophrosyne-health": "http",
        "clean-tmp-remote": "ssh",
    }
    modes = {r.spec.name: r.spec.mode for r in bundle.rules}
    assert modes == {
        "restart-on-errors": "auto",
        "disk-report-on-pressure": "auto",
        "clean-tmp-on-pressure": "confirm",
    }


def test_empty_file_and_empty_sections_are_fine(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "sections.yaml", "actions:\nrules: []\n")
    bundle, report = check_dir(tmp_path)
    assert report.ok and bundle.actions == [] and bundle.rules == []


def test_missing_or_empty_directory_is_an_error(tmp_path: Path) -> None:
    assert "no *.yaml" in only(errors_of(tmp_path)).message
    assert "not a directory" in only(errors_of(tmp_path / "nope")).message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "rules:\n  - name: x\n    action: [unclosed\n")
    problem = only(errors_of(tmp_path))
    assert problem.file == str(path)
    assert problem.line == 4  # where the parser noticed: the end of the file
    assert problem.message.startswith("invalid YAML:")
    assert str(problem).startswith(f"{path}:4: (root): invalid YAML:")


def test_yaml_syntax_error_in_the_middle(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "rules:\n  - name: x\n   bad: indent: here\n  - name: y\n")
    assert only(errors_of(tmp_path)).line == 3


def test_several_documents_in_one_file_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "two.yaml", "actions: []\n---\nrules: []\n")
    problem = only(errors_of(tmp_path))
    assert problem.line == 2 and "single document" in problem.message


def test_duplicate_key_is_reported_with_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dup.yaml",
        """\
        rules:
          - name: r
            action: a
            parameters:
              service: "{{ labels.service }}"
              service: "other"
        """,
    )
    errors = errors_of(tmp_path)
    dup = next(p for p in errors if "duplicate key" in p.message)
    assert (dup.file, dup.line, dup.where) == (str(path), 6, "rules[0].parameters.service")
    assert "first at line 5" in dup.message


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    write(tmp_path, "dup.yaml", "actions: []\nactions: []\n")
    problem = only(errors_of(tmp_path))
    assert (problem.line, problem.where) == (2, "actions")


def test_unknown_top_level_key_and_wrong_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "actions: []\nwebhooks: []\nrules: {name: x}\n")
    write(tmp_path, "b.yaml", "- just\n- a list\n")
    write(tmp_path, "c.yaml", "actions:\n  - 42\n")
    got = {(Path(p.file).name, p.line, p.where): p.message for p in errors_of(tmp_path)}
    assert got[("a.yaml", 2, "webhooks")].startswith("unknown top-level key")
    assert got[("a.yaml", 3, "rules")] == "must be a list"
    assert got[("b.yaml", 1, "(root)")] == "must be a mapping of actions:, rules: and targets:"
    assert got[("c.yaml", 2, "actions[0]")] == "must be a mapping"
    assert path.name == "a.yaml"


def test_schema_errors_map_to_lines_and_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules.yaml",
        """\
        rules:
          - name: ok-rule
            action: a
          - name: Bad Name
            matchers:
              - alertname="Down"
              - "not a matcher"
            action: a
            mode: sometimes
            colour: blue
          - description: no name, no action
        """,
    )
    write(tmp_path, "actions.yaml", "actions:\n  - {name: a, argv: [/bin/true]}\n")
    got = {(p.line, p.where): p.message for p in errors_of(tmp_path) if p.file == str(path)}
    assert "should match pattern" in got[(4, "rules[1].name")]
    assert got[(7, "rules[1].matchers[1]")].startswith("bad matcher 'not a matcher'")
    assert "'auto', 'confirm' or 'recommend'" in got[(9, "rules[1].mode")]
    assert "Extra inputs are not permitted" in got[(10, "rules[1].colour")]
    # A missing field is reported at the line of the item's mapping.
    assert got[(11, "rules[2].name")] == "Field required"
    assert len(got) == 5


def test_action_schema_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "actions.yaml",
        """\
        actions:
          - name: a
            argv:
              - /bin/echo
              - "{{ params.nope }}"
          - name: b
            argv: [/bin/true]
            parameters:
              - name: level
                type: enum
              - name: size
                type: int
                default: [1, 2]
        """,
    )
    got = {(p.line, p.where): p.message for p in errors_of(tmp_path)}
    assert got[(5, "actions[0].argv[1]")] == "argv[1] uses undeclared parameters ['nope']"
    assert got[(9, "actions[1].parameters[0]")] == "an enum parameter needs choices"
    # The union's branches fold into one problem at the field that exists in the file.
    default = got[(13, "actions[1].parameters[1].default")]
    assert "valid string" in default and "valid integer" in default
    assert len(got) == 3


def test_action_argv_template_that_does_not_compile(tmp_path: Path) -> None:
    write(
        tmp_path,
        "actions.yaml",
        'actions:\n  - name: a\n    argv: [/bin/echo, "{{ 1 | no_such_filter }}"]\n',
    )
    problem = only(errors_of(tmp_path))
    assert (problem.line, problem.where) == (3, "actions[0].argv[1]")
    assert "no_such_filter" in problem.message


def test_names_defined_twice_report_both_places(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", ACTIONS)
    two = write(
        tmp_path, "two.yaml", "actions:\n  - name: other\n    argv: [/bin/true]\n" + ACTIONS[9:]
    )
    write(tmp_path, "rules.yaml", RULES + RULES[7:])
    errors = errors_of(tmp_path)
    dup_actions = [p for p in errors if "action 'restart' is defined more than once" in p.message]
    assert {(p.file, p.line) for p in dup_actions} == {(str(one), 2), (str(two), 4)}
    assert f"also at {two}:4" in next(p for p in dup_actions if p.file == str(one)).message
    assert f"also at {one}:2" in next(p for p in dup_actions if p.file == str(two)).message
    dup_rules = [p for p in errors if "rule 'restart-on-down' is defined" in p.message]
    assert {(p.line, p.where) for p in dup_rules} == {(2, "rules[0].name"), (9, "rules[1].name")}
    assert len(errors) == 4


def test_rule_with_undefined_action(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", RULES)
    problem = only(errors_of(tmp_path))
    assert (problem.line, problem.where) == (6, "rules[0].action")
    assert problem.message == "no action named 'restart' is defined"


def test_rule_may_use_a_known_action_outside_the_files(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", RULES)
    known = ActionSpec(
        name="restart", argv=["/bin/echo", "{{ params.service }}"], parameters=[{"name": "service"}]
    )
    assert validate(load_dir(tmp_path), known_actions={"restart": known}).ok


def test_rule_parameter_problems(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(
        tmp_path,
        "rules.yaml",
        """\
        rules:
          - name: r1
            matchers: ['service!=""']
            action: restart
            parameters:
              service: "{{ labels.service }}"
              colour: blue
              grace: "soon"
          - name: r2
            matchers: ['service!=""']
            action: restart
          - name: r3
            matchers: ['service!=""']
            action: restart
            parameters:
              service: "{{ labels.service | no_such_filter }}"
        """,
    )
    got = {(p.line, p.where): p.message for p in errors_of(tmp_path)}
    assert got[(7, "rules[0].parameters.colour")] == (
        "is not a parameter of action 'restart' (it has ['grace', 'service'])"
    )
    assert got[(8, "rules[0].parameters.grace")] == "must be an integer"
    assert got[(9, "rules[1].parameters")] == (
        "does not provide 'service', a required parameter of action 'restart' with no default"
    )
    assert "no_such_filter" in got[(16, "rules[2].parameters.service")]
    assert len(got) == 4


def test_warning_for_a_label_no_matcher_guarantees(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(
        tmp_path,
        "rules.yaml",
        """\
        rules:
          - name: r
            matchers: ['alertname="Down"', 'service=~".*"']
            action: restart
            parameters:
              service: "{{ labels.service }}-{{ labels['team'] }}-{{ labels.alertname }}"
          - name: safe
            matchers: ['alertname="Down"']
            action: restart
            parameters:
              service: "{{ labels.service | default('web') }}"
        """,
    )
    report = check_dir(tmp_path)[1]
    assert report.ok  # warnings do not fail validation
    assert [(p.line, p.where) for p in report.warnings] == [
        (6, "rules[0].parameters.service"),
        (6, "rules[0].parameters.service"),
    ]
    service, team = report.warnings
    assert service.message.startswith("uses labels.service but no matcher guarantees that label")
    assert "would fail with template_error for alerts without it" in service.message
    assert "labels.team" in team.message


def test_warning_for_a_rule_without_matchers(tmp_path: Path) -> None:
    write(tmp_path, "actions.yaml", ACTIONS)
    write(
        tmp_path,
        "rules.yaml",
        "rules:\n  - {name: r, action: restart, parameters: {service: web}}\n",
    )
    warning = only(check_dir(tmp_path)[1].warnings)
    assert (warning.line, warning.where) == (2, "rules[0].matchers")
    assert "matches every alert" in warning.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - &base {name: a, action: x}\n  - <<: *base\n    name: b\n",
            ["2: rules[0].action: no action named 'x'", "3: rules[1].action: no action named 'x'"],
        ),
        ("actions: &loop [*loop]\n", ["1: actions[0]: must be a mapping"]),
    ],
)
def test_anchors_aliases_and_merge_keys(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, "x.yaml", text)
    shown = [str(p).removeprefix(f"{path}:") for p in errors_of(tmp_path)]
    assert [s[: len(e)] for s, e in zip(shown, expected, strict=True)] == expected


def test_kinds_are_checked_across_files_with_their_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "kinds.yaml",
        """
        actions:
          - name: restart-remote
            kind: ssh
            argv: [systemctl, restart, nginx]
          - name: patch
            kind: ansible
            ansible:
              playbook: playbooks/patch.yml
        rules:
          - name: no-targets
            matchers: ['alertname="Down"']
            action: restart-remote
        """,
    )
    problems = sorted(errors_of(tmp_path), key=lambda p: p.line)
    assert [(Path(p.file).name, p.line, p.loc) for p in problems] == [
        ("kinds.yaml", 9, ("actions", 1, "ansible", "playbook")),
        ("kinds.yaml", 11, ("rules", 0, "targets")),
    ]
    assert "does not exist" in problems[0].message
    assert "runs on targets" in problems[1].message
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "patch.yml").write_text("- hosts: all\n  tasks: []\n")
    assert [p.loc for p in errors_of(tmp_path)] == [("rules", 0, "targets")]
