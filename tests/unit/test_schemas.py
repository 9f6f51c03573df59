"""Pydantic schemas: actions, rules and incoming alert payloads refuse bad input clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sophrosyne.domains.actions.render import render_argv
from sophrosyne.domains.actions.schemas import ActionSpec, ParameterSpec
from sophrosyne.domains.alerts.schemas import AlertmanagerPayload, GenericAlert
from sophrosyne.domains.rules.schemas import RuleSpec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alertmanager"


def _action(**kw: Any) -> ActionSpec:
    return ActionSpec.model_validate({"name": "restart", "argv": ["echo"], **kw})


def _rule(**kw: Any) -> RuleSpec:
    return RuleSpec.model_validate({"name": "r1", "action": "restart", **kw})


def _messages(exc: ValidationError) -> str:
    return " | ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors())


# --- actions -------------------------------------------------------------------------------


def test_action_with_declared_parameters_is_accepted() -> None:
    spec = _action(
        argv=["systemctl", "restart", "{{ params.svc }}", "--n={{ params['n'] }}"],
        parameters=[{"name": "svc", "pattern": "[a-z]+"}, {"name": "n", "type": "int"}],
    )
    assert [p.name for p in spec.parameters] == ["svc", "n"]


def test_action_refuses_undeclared_params_in_argv() -> None:
    with pytest.raises(ValidationError) as info:
        _action(argv=["echo", "{{ params.svc }}"], parameters=[{"name": "other"}])
    text = _messages(info.value)
    assert "argv[1]" in text and "svc" in text


def test_action_refuses_other_roots_in_argv() -> None:
    with pytest.raises(ValidationError, match=r"argv\[0\] uses \['labels'\]"):
        _action(argv=["{{ labels.job }}"])


def test_action_refuses_bad_template_syntax() -> None:
    with pytest.raises(ValidationError, match=r"argv\[1\]"):
        _action(argv=["echo", "{{ params.x "], parameters=[{"name": "x"}])


def test_action_accepts_plain_elements_that_look_like_jinja_comments() -> None:
    # Elements without {{ or {% are never rendered (they run verbatim), so shell syntax
    # such as ${#VAR} (string length) must not be refused as a broken template.
    argv = ["bash", "-c", "test ${#HOME} -gt 0"]
    assert _action(argv=argv).argv == argv
    assert render_argv(argv, {}) == argv


def test_action_refuses_duplicate_parameter_names() -> None:
    with pytest.raises(ValidationError, match=r"parameter names repeat: \['svc'\]"):
        _action(parameters=[{"name": "svc"}, {"name": "svc", "type": "int"}])


def test_action_refuses_empty_argv_and_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        _action(argv=[])
    with pytest.raises(ValidationError) as info:
        _action(shell=True)
    assert info.value.errors()[0]["loc"] == ("shell",)


def test_enum_parameter_needs_choices() -> None:
    with pytest.raises(ValidationError, match="an enum parameter needs choices"):
        ParameterSpec(name="mode", type="enum")
    with pytest.raises(ValidationError, match="choices are only for enum"):
        ParameterSpec(name="mode", choices=["a"])


def test_parameter_refuses_bad_regex_pattern() -> None:
    with pytest.raises(ValidationError, match="pattern is not a valid regular expression"):
        ParameterSpec(name="svc", pattern="[a-z")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"type": "int", "pattern": "x"}, "pattern is only for string"),
        ({"type": "string", "min": 1}, "min and max are only for int"),
        ({"type": "int", "min": 5, "max": 1}, "min is greater than max"),
        ({"name": "Bad-Name"}, "should match pattern"),
    ],
)
def test_parameter_spec_coherence(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ParameterSpec.model_validate({"name": "p", **kw})


# --- rules ---------------------------------------------------------------------------------


def test_rule_defaults() -> None:
    rule = _rule()
    assert rule.on_status == ["firing"]
    assert rule.mode == "auto"
    assert rule.enabled is True


def test_rule_refuses_bad_matcher_naming_its_index() -> None:
    with pytest.raises(ValidationError) as info:
        _rule(matchers=['alertname="Down"', 'job=="web"'])
    [error] = info.value.errors()
    assert error["loc"] == ("matchers",)
    assert "matchers[1]" in error["msg"]
    assert "job==" in error["msg"]


def test_rule_refuses_bad_matcher_regex() -> None:
    with pytest.raises(ValidationError, match=r"matchers\[0\].*bad regular expression"):
        _rule(matchers=['job=~"(web"'])


def test_rule_refuses_template_with_unknown_root() -> None:
    with pytest.raises(ValidationError) as info:
        _rule(parameters={"svc": "{{ lables.service }}"})
    text = _messages(info.value)
    assert "parameters.svc" in text and "lables" in text


def test_rule_refuses_template_syntax_error() -> None:
    with pytest.raises(ValidationError, match=r"parameters\.svc"):
        _rule(parameters={"svc": "{{ labels.service "})


def test_rule_accepts_known_roots() -> None:
    rule = _rule(
        parameters={
            "a": "{{ labels.job }}",
            "b": "{{ annotations.summary }}",
            "c": "{{ alert.fingerprint }}",
            "d": "literal",
        }
    )
    assert set(rule.parameters) == {"a", "b", "c", "d"}


@pytest.mark.parametrize("field", ["actions", "matcher", "cooldown"])
def test_rule_refuses_unknown_fields(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _rule(**{field: "x"})
    assert info.value.errors()[0]["loc"] == (field,)
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_rule_refuses_bad_mode_status_and_cooldown() -> None:
    with pytest.raises(ValidationError):
        _rule(mode="yolo")
    with pytest.raises(ValidationError):
        _rule(on_status=[])
    with pytest.raises(ValidationError):
        _rule(on_status=["pending"])
    with pytest.raises(ValidationError):
        _rule(cooldown_seconds=-1)


# --- alert payloads ------------------------------------------------------------------------


def _am_payload() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "alertmanager-webhook.json").read_text())
    return data


def test_alertmanager_payload_as_sent_is_accepted() -> None:
    payload = AlertmanagerPayload.model_validate(_am_payload())
    assert payload.version == "4"
    assert len(payload.alerts) == 2


def test_alertmanager_refuses_other_versions_naming_version() -> None:
    raw = _am_payload()
    raw["version"] = "3"
    with pytest.raises(ValidationError) as info:
        AlertmanagerPayload.model_validate(raw)
    assert [e["loc"] for e in info.value.errors()] == [("version",)]


def test_alertmanager_refuses_bad_alert_status_with_its_location() -> None:
    raw = _am_payload()
    raw["alerts"][1]["status"] = "pending"
    with pytest.raises(ValidationError) as info:
        AlertmanagerPayload.model_validate(raw)
    assert info.value.errors()[0]["loc"] == ("alerts", 1, "status")


def test_generic_alert_refuses_empty_labels() -> None:
    with pytest.raises(ValidationError) as info:
        GenericAlert.model_validate({"labels": {}})
    assert info.value.errors()[0]["loc"] == ("labels",)


@pytest.mark.parametrize("value", [5, 1.5, True, None, ["a"], {"a": "b"}])
def test_generic_alert_refuses_non_string_label_values(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        GenericAlert.model_validate({"labels": {"alertname": "X", "n": value}})
    assert info.value.errors()[0]["loc"] == ("labels", "n")


def test_generic_alert_refuses_unknown_fields_and_empty_fingerprint() -> None:
    with pytest.raises(ValidationError):
        GenericAlert.model_validate({"labels": {"a": "b"}, "lables": {}})
    with pytest.raises(ValidationError):
        GenericAlert.model_validate({"labels": {"a": "b"}, "fingerprint": ""})
    with pytest.raises(ValidationError):
        GenericAlert.model_validate({"labels": {"": "b"}})


@pytest.mark.parametrize("model", [ActionSpec, RuleSpec])
def test_new_is_not_a_catalog_name(model: type[ActionSpec] | type[RuleSpec]) -> None:
    """``/actions/new`` and ``/rules/new`` are the create forms: an object may not take it."""
    fields: dict[str, object] = {"name": "new", "argv": ["true"]}
    if model is RuleSpec:
        fields = {"name": "new", "matchers": ['alertname="X"'], "action": "a"}
    with pytest.raises(ValidationError) as caught:
        model.model_validate(fields)
    [error] = caught.value.errors()
    assert error["loc"] == ("name",) and "reserved" in error["msg"]
    renamed = {**fields, "name": "newer"}
    assert model.model_validate(renamed).name == "newer"
