"""The sandboxed Jinja2 renderer shared by rules and actions."""

from __future__ import annotations

import pytest

from sophrosyne.templating import (
    TemplateFailed,
    attribute_references,
    check_syntax,
    is_template,
    render,
    undeclared_names,
)

CTX = {"labels": {"job": "web", "instance": "h1"}, "params": {"n": 2}}


def test_renders_values() -> None:
    assert render("{{ labels.job }}-{{ labels['instance'] }}", CTX) == "web-h1"


def test_plain_strings_pass_through_untouched() -> None:
    assert render("no template here {x}", {}) == "no template here {x}"


@pytest.mark.parametrize(
    "source",
    [
        "{{ labels.__class__.__mro__ }}",
        "{{ labels.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ labels.items.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_blocks_dunder_access(source: str) -> None:
    with pytest.raises(TemplateFailed) as info:
        render(source, CTX)
    assert not isinstance(info.value, RecursionError)


def test_sandbox_refuses_mutating_the_context() -> None:
    labels = {"job": "web"}
    with pytest.raises(TemplateFailed):
        render("{{ labels.update({'job': 'pwned'}) }}", {"labels": labels})
    assert labels == {"job": "web"}


def test_strict_undefined_names_the_missing_variable() -> None:
    with pytest.raises(TemplateFailed, match="service") as info:
        render("{{ labels.service }}", CTX)
    assert str(info.value).startswith("undefined:")
    with pytest.raises(TemplateFailed, match="'nothere' is undefined"):
        render("{{ nothere }}", CTX)


def test_undefined_never_renders_as_empty() -> None:
    with pytest.raises(TemplateFailed):
        render("x{{ labels.absent }}y", CTX)


def test_bools_render_as_words() -> None:
    assert render("{{ a }} {{ b }}", {"a": True, "b": False}) == "true false"
    assert render("--force={{ a }}", {"a": True}) == "--force=true"


def test_other_values_render_normally() -> None:
    assert render("{{ n }}|{{ z }}|{{ s }}", {"n": 0, "z": 1, "s": "x"}) == "0|1|x"


def test_bad_filter_input_is_a_template_failure() -> None:
    with pytest.raises(TemplateFailed):
        render("{{ labels.job + 1 }}", CTX)
    with pytest.raises(TemplateFailed):
        render("{{ 1 / 0 }}", CTX)


def test_syntax_errors() -> None:
    with pytest.raises(TemplateFailed, match="syntax"):
        check_syntax("{{ labels.job ")
    with pytest.raises(TemplateFailed, match="syntax"):
        render("{% if %}", CTX)
    check_syntax("{{ labels.job }}")


def test_is_template() -> None:
    assert is_template("{{ x }}")
    assert is_template("{% if x %}y{% endif %}")
    assert not is_template("${HOME} {x}")


def test_attribute_references_finds_dot_and_subscript() -> None:
    src = "{{ labels.x }} {{ labels['y'] }} {{ annotations.z }} {{ labels[other] }}"
    assert attribute_references(src, "labels") == {"x", "y"}
    assert attribute_references(src, "annotations") == {"z"}
    assert attribute_references("{{ params.a | upper }}{% if params.b %}{% endif %}", "params") == {
        "a",
        "b",
    }


def test_attribute_references_ignores_deeper_and_other_roots() -> None:
    assert attribute_references("{{ alert.labels.x }}", "labels") == set()
    assert attribute_references("{{ labels.a.b }}", "labels") == {"a"}


def test_attribute_references_syntax_error() -> None:
    with pytest.raises(TemplateFailed, match="syntax"):
        attribute_references("{{ labels. }}", "labels")


def test_undeclared_names() -> None:
    assert undeclared_names("{{ labels.a }}{{ params.b }}{% set c = 1 %}{{ c }}") == {
        "labels",
        "params",
    }


@pytest.mark.parametrize(
    "source",
    [
        "{{ labels.job }}",
        "{{ labels.job }}\n",
        "{{labels.job}}",
        " {{ labels.job }}",
        "{{ labels.job }} ",
    ],
)
def test_simple_lookups_render_exactly_like_jinja(source: str) -> None:
    # "| string" is a no-op on a string that forces the full Jinja path.
    assert render(source, CTX) == render(source.replace("}}", "| string }}"), CTX)
