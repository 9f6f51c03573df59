"""Typed parameter validation: coercion, constraints and error reporting."""

from __future__ import annotations

from typing import Any

import pytest

from sophrosyne.domains.actions.params import validate
from sophrosyne.domains.actions.schemas import ParameterSpec
from sophrosyne.errors import ValidationFailed


def _spec(**kw: Any) -> ParameterSpec:
    return ParameterSpec.model_validate({"name": "p", **kw})


def _errors(specs: list[Any], raw: dict[str, Any]) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationFailed) as info:
        validate(specs, raw)
    return {e.loc: e.msg for e in info.value.errors}


def test_string_passes_through() -> None:
    assert validate([_spec()], {"p": "web-1"}) == {"p": "web-1"}


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), (" 5 ", 5), ("-3", -3), (7, 7)])
def test_int_coercion(raw: Any, expected: int) -> None:
    out = validate([_spec(type="int")], {"p": raw})
    assert out == {"p": expected}
    assert type(out["p"]) is int


@pytest.mark.parametrize("raw", ["5.0", "five", "", "1e3", True, 1.5, "0x10"])
def test_int_refuses_non_integers(raw: Any) -> None:
    specs = [_spec(type="int", required=True)]
    errors = _errors(specs, {"p": raw})
    assert ("params", "p") in errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("yes", True), ("1", True), (True, True),
     ("false", False), ("no", False), ("off", False), ("0", False), (False, False)],
)  # fmt: skip
def test_bool_coercion(raw: Any, expected: bool) -> None:
    out = validate([_spec(type="bool")], {"p": raw})
    assert out["p"] is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "tru"])
def test_bool_refuses_other_words(raw: str) -> None:
    assert _errors([_spec(type="bool")], {"p": raw}) == {
        ("params", "p"): "must be a boolean (true or false)"
    }


def test_int_min_and_max() -> None:
    spec = _spec(type="int", min=1, max=10)
    assert validate([spec], {"p": "1"}) == {"p": 1}
    assert validate([spec], {"p": "10"}) == {"p": 10}
    assert _errors([spec], {"p": "0"}) == {("params", "p"): "must be at least 1"}
    assert _errors([spec], {"p": 11}) == {("params", "p"): "must be at most 10"}


def test_pattern_must_match_in_full() -> None:
    spec = _spec(pattern="[a-z]+")
    assert validate([spec], {"p": "abc"}) == {"p": "abc"}
    for hostile in ["abc; rm", "abc\n", "ABC", "abc def", "$(id)"]:
        errors = _errors([spec], {"p": hostile})
        assert "does not match the pattern" in errors[("params", "p")], hostile
    # Empty is "not given": a required parameter reports that instead.
    assert _errors([spec], {"p": ""}) == {("params", "p"): "is required"}


def test_enum_choices() -> None:
    spec = _spec(type="enum", choices=["start", "stop"])
    assert validate([spec], {"p": "stop"}) == {"p": "stop"}
    errors = _errors([spec], {"p": "restart"})
    assert errors[("params", "p")].startswith("must be one of")
    assert "start" in errors[("params", "p")]
    assert _errors([spec], {"p": "STOP"})


def test_max_length() -> None:
    spec = _spec(max_length=5)
    assert validate([spec], {"p": "12345"}) == {"p": "12345"}
    assert _errors([spec], {"p": "123456"}) == {("params", "p"): "is longer than 5 characters"}


def test_nul_is_refused() -> None:
    assert _errors([_spec()], {"p": "a\x00b"}) == {
        ("params", "p"): "must not contain a NUL character"
    }


def test_string_refuses_non_strings() -> None:
    assert _errors([_spec()], {"p": 5}) == {("params", "p"): "must be a string"}


def test_unknown_parameter_is_refused() -> None:
    errors = _errors([_spec()], {"p": "x", "pp": "typo"})
    assert errors == {("params", "pp"): "is not a parameter of this action"}


def test_required_parameter_missing() -> None:
    assert _errors([_spec(required=True)], {}) == {("params", "p"): "is required"}
    assert _errors([_spec(type="int")], {"p": None}) == {("params", "p"): "is required"}


def test_optional_parameter_needs_a_default_which_fills_it() -> None:
    with pytest.raises(ValueError, match="needs a default"):
        _spec(required=False)
    assert validate([_spec(required=False, default="all")], {}) == {"p": "all"}


def test_default_fills_missing_and_is_coerced() -> None:
    assert validate([_spec(type="int", default="3")], {}) == {"p": 3}
    assert validate([_spec(type="bool", default=False)], {}) == {"p": False}
    assert validate([_spec(default="web")], {}) == {"p": "web"}
    # An empty string for a typed parameter means "not given".
    assert validate([_spec(type="int", default=4)], {"p": ""}) == {"p": 4}


def test_default_is_checked_like_a_value() -> None:
    spec = _spec(type="int", default=50, max=10)
    assert _errors([spec], {}) == {("params", "p"): "must be at most 10"}


def test_given_value_wins_over_default() -> None:
    assert validate([_spec(type="int", default=3)], {"p": "9"}) == {"p": 9}


def test_multiple_errors_reported_together() -> None:
    specs = [
        {"name": "count", "type": "int", "min": 1},
        {"name": "host", "pattern": "[a-z0-9.-]+"},
        {"name": "mode", "type": "enum", "choices": ["a", "b"]},
        {"name": "need"},
    ]
    with pytest.raises(ValidationFailed) as info:
        validate(specs, {"count": "0", "host": "x;y", "mode": "c", "extra": "1"})
    locs = [e.loc for e in info.value.errors]
    assert set(locs) == {
        ("params", "count"),
        ("params", "host"),
        ("params", "mode"),
        ("params", "need"),
        ("params", "extra"),
    }
    text = str(info.value)
    assert "params.count: must be at least 1" in text
    assert "params.need: is required" in text


def test_custom_loc_prefix() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate([_spec()], {}, loc=("rules", 2, "parameters"))
    assert info.value.errors[0].loc == ("rules", 2, "parameters", "p")


def test_specs_as_stored_dicts() -> None:
    stored = [{"name": "svc", "type": "string", "required": True, "max_length": 1024}]
    assert validate(stored, {"svc": "nginx"}) == {"svc": "nginx"}


def test_required_string_refuses_the_empty_string() -> None:
    # An empty value for a required parameter is as good as none: in an argv like
    # ["rm", "-rf", "/var/cache/{{ params.app }}"] it would widen the command's reach.
    assert _errors([_spec(required=True)], {"p": ""}) == {("params", "p"): "is required"}
