"""render_argv: each template is exactly one argv element, whatever the values hold."""

from __future__ import annotations

import pytest

from sophrosyne.domains.actions.render import render_argv
from sophrosyne.errors import ValidationFailed

HOSTILE = [
    "; rm -rf /",
    "$(id)",
    "`id`",
    "a\nb",
    "--force",
    "x y z",
    "'quoted' \"double\"",
    "{{ 7 * 7 }}",
    "*",
    "",
]


def test_each_template_renders_to_one_element() -> None:
    argv = ["systemctl", "restart", "{{ params.svc }}.service", "--host={{ params.host }}"]
    out = render_argv(argv, {"svc": "nginx", "host": "web-1"})
    assert out == ["systemctl", "restart", "nginx.service", "--host=web-1"]


def test_plain_elements_pass_through() -> None:
    assert render_argv(["echo", "hello", "$HOME"], {}) == ["echo", "hello", "$HOME"]


def test_typed_values_render() -> None:
    out = render_argv(["{{ params.n }}", "{{ params.flag }}"], {"n": 3, "flag": False})
    assert out == ["3", "false"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_one_literal_element(value: str) -> None:
    out = render_argv(["echo", "{{ params.v }}", "end"], {"v": value})
    assert out == ["echo", value, "end"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_inside_a_larger_element(value: str) -> None:
    out = render_argv(["--name={{ params.v }}!"], {"v": value})
    assert out == [f"--name={value}!"]


def test_undefined_parameter_is_reported_at_its_index() -> None:
    with pytest.raises(ValidationFailed) as info:
        render_argv(["echo", "{{ params.a }}", "{{ params.missing }}"], {"a": "x"})
    [error] = info.value.errors
    assert error.loc == ("argv", 2)
    assert "missing" in error.msg
    assert str(info.value).startswith("argv[2]:")


def test_every_failing_element_is_reported() -> None:
    with pytest.raises(ValidationFailed) as info:
        render_argv(["{{ params.x }}", "ok", "{{ params.y }}"], {})
    assert [e.loc for e in info.value.errors] == [("argv", 0), ("argv", 2)]
