"""Action kinds: what each kind's definition allows, and how rendering keeps values in place."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sophrosyne.domains.actions.render import render_action, render_url
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.rules.schemas import RuleSpec, TargetSelection
from sophrosyne.domains.rules.targeting import (
    CompiledSelection,
    NoTargets,
    TargetView,
    host_part,
    select_targets,
)
from sophrosyne.errors import ValidationFailed

WEB1 = TargetView("web1", "10.0.0.1", 22, "ops", {"role": "web", "dc": "par1"})
WEB2 = TargetView("web2", "10.0.0.2", 22, "ops", {"role": "web", "dc": "ams1"})
DB1 = TargetView("db1", "db1.example.net", 2222, None, {"role": "db", "dc": "par1"})
INVENTORY = [DB1, WEB1, WEB2]


def spec(**kw: Any) -> ActionSpec:
    kw.setdefault("name", "a")
    return ActionSpec.model_validate(kw)


def refused(**kw: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        spec(**kw)
    return str(caught.value)


def test_each_kind_needs_its_own_section_and_no_other() -> None:
    assert "a ssh action needs argv" in refused(kind="ssh")
    assert "needs a http section" in refused(kind="http")
    assert "script is only for script actions" in refused(argv=["true"], script={"body": "true"})
    assert "argv is only for shell and ssh" in refused(
        kind="ansible", argv=["x"], ansible={"playbook": "p.yml"}
    )


@pytest.mark.parametrize("playbook", ["/etc/p.yml", "../p.yml", "a/../../p.yml", "p.sh"])
def test_playbooks_stay_inside_the_config_directory(playbook: str) -> None:
    assert "playbook" in refused(kind="ansible", ansible={"playbook": playbook})


def test_http_host_may_come_from_the_target_never_from_parameters() -> None:
    ok = spec(
        kind="http",
        parameters=[{"name": "svc"}],
        http={"url": "https://{{ target.address }}:{{ target.port }}/svc/{{ params.svc }}"},
    )
    assert ok.kind == "http"
    message = refused(
        kind="http",
        parameters=[{"name": "host"}],
        http={"url": "https://{{ params.host }}/x"},
    )
    assert "host part may use only target" in message
    assert "must start with http" in refused(kind="http", http={"url": "{{ target.address }}/x"})


def test_templates_may_use_only_declared_parameters() -> None:
    assert "undeclared parameters ['nope']" in refused(
        kind="script", script={"body": "echo", "args": ["{{ params.nope }}"]}
    )
    assert "only params.NAME" in refused(kind="ssh", argv=["echo", "{{ target.name }}"])


def test_url_values_are_encoded_and_cannot_escape_their_segment() -> None:
    url = render_url(
        "https://api.example.net/v1/{{ params.svc }}/restart",
        {"svc": "../../admin?x=1#f"},
        None,
        {"reason": "a b&c=d"},
    )
    assert url == (
        "https://api.example.net/v1/%2E%2E%2F%2E%2E%2Fadmin%3Fx%3D1%23f/restart"
        "?reason=a%20b%26c%3Dd"
    )


def test_http_renders_one_call_per_target() -> None:
    section = spec(
        kind="http",
        http={"method": "PUT", "url": "http://{{ target.address }}:8080/drain/{{ target.name }}"},
    ).section()
    rendered = render_action("http", [], section, {}, [WEB1, WEB2])
    assert [c["url"] for c in rendered.request["calls"]] == [
        "http://10.0.0.1:8080/drain/web1",
        "http://10.0.0.2:8080/drain/web2",
    ]


def test_a_failing_render_names_the_field() -> None:
    section = spec(
        kind="http", parameters=[{"name": "v"}], http={"url": "http://x/", "body": "{{ params.v }}"}
    ).section()
    with pytest.raises(ValidationFailed) as caught:
        render_action("http", [], section, {}, [])
    assert caught.value.errors[0].loc == ("http", "body")


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("web1:9100", "web1"),
        ("10.0.0.1:9100", "10.0.0.1"),
        ("[2001:db8::1]:9100", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("web1", "web1"),
    ],
)
def test_host_part_of_an_instance_label(value: str, host: str) -> None:
    assert host_part(value) == host


def selection(**kw: Any) -> CompiledSelection:
    return CompiledSelection.of(TargetSelection.model_validate(kw).model_dump(exclude_none=True))


def test_selection_by_label_address_selector_and_names() -> None:
    by_name = select_targets(selection(from_label="instance"), {"instance": "web2:9100"}, INVENTORY)
    assert by_name == [WEB2]
    by_address = select_targets(
        selection(from_label="instance"), {"instance": "10.0.0.1:9100"}, INVENTORY
    )
    assert by_address == [WEB1]
    par1 = select_targets(selection(selector=['dc="par1"']), {}, INVENTORY)
    assert par1 == [DB1, WEB1]
    named = select_targets(selection(names=["web2", "db1"], selector=['role="web"']), {}, INVENTORY)
    assert named == [WEB2]


def test_selection_that_finds_nothing_says_why() -> None:
    with pytest.raises(NoTargets, match="no label 'instance'"):
        select_targets(selection(from_label="instance"), {}, INVENTORY)
    with pytest.raises(NoTargets, match="'ghost'"):
        select_targets(selection(from_label="instance"), {"instance": "ghost:1"}, INVENTORY)
    with pytest.raises(NoTargets, match="matches"):
        select_targets(
            selection(from_label="instance", selector=['role="db"']),
            {"instance": "web1:9100"},
            INVENTORY,
        )


def test_rule_target_selection_is_checked() -> None:
    with pytest.raises(ValidationError, match="give from_label, selector or names"):
        RuleSpec.model_validate({"name": "r", "action": "a", "targets": {}})
    with pytest.raises(ValidationError, match=r"selector\[0\]"):
        RuleSpec.model_validate(
            {"name": "r", "action": "a", "targets": {"selector": ['role=~"("']}}
        )
