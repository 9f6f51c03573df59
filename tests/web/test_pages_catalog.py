"""The catalog pages on both backends: who may run and approve an action and how its runs of
the last 30 days ended; creating, editing and deleting actions and rules with the YAML form
(errors next to the textarea with their line, nothing stored), through the same flow as the
API with the same audit entries; file-managed objects read-only; no edit for non-admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sophrosyne.domains.actions import service as actions
from sophrosyne.domains.actions.schemas import ActionSpec
from sophrosyne.domains.audit.models import AuditEntry
from sophrosyne.domains.rules import service as rules
from sophrosyne.domains.rules.schemas import RuleSpec
from sophrosyne.domains.runs.models import Run
from tests.api.helpers import Api
from tests.web.conftest import Person, add_action

RULE = {
    "name": "restart-down",
    "matchers": ['alertname="ServiceDown"'],
    "action": "restart",
    "parameters": {"service": "{{ labels.service }}"},
    "mode": "confirm",
}
GREET = (
    'kind: shell\nargv: ["/bin/echo", "hello", "{{ params.who }}"]\nparameters:\n  - name: who\n'
)


def _audit(factory: sessionmaker[Session], event: str, name: str) -> list[AuditEntry]:
    with factory() as s:
        return list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.action == event, AuditEntry.object_id == name)
            )
        )


def _definition_errors(html: str) -> str:
    found = re.search(r'<ul class="field-error" id="definition-error"[^>]*>(.*?)</ul>', html, re.S)
    assert found, "no error next to the definition"
    return found.group(1)


def _file_managed(factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with factory() as s, s.begin():
        spec = ActionSpec(name="rotate-logs", argv=["/usr/sbin/logrotate", "-f", "/etc/lr.conf"])
        actions.create(s, spec, now=now, managed_by="file", source_file="catalog/actions.yaml")
        rule = RuleSpec(name="rotate-full", matchers=['alertname="DiskFull"'], action="rotate-logs")
        rules.create(s, rule, now=now, managed_by="file", source_file="catalog/rules.yaml")


def test_detail_shows_who_may_run_and_approve_and_the_success_rate(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(
        api,
        runners=["role:operator", "user:olga", "token:writer"],
        approval={"manual": "always", "quorum": 2, "approvers": ["user:root", "user:ada"]},
    )
    add_action(api, "other", approval={"manual": "always"})
    ids = []
    for name in ["restart"] * 7 + ["other"]:
        reply = api.post(f"/api/v1/actions/{name}/runs", json={"params": {"service": "web"}})
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    # A known set of outcomes: the 7th run is older than the window, the 8th another action's.
    states = ["succeeded", "succeeded", "failed", "timed_out", "cancelled", "succeeded"]
    states += ["failed", "failed"]
    now = datetime.now(UTC)
    with session_factory() as s, s.begin():
        for run_id, state in zip(ids, states, strict=True):
            s.execute(update(Run).where(Run.id == run_id).values(state=state))
        s.execute(update(Run).where(Run.id == ids[6]).values(created_at=now - timedelta(days=40)))
    counted = states[:6]
    ended = [x for x in counted if x in ("succeeded", "failed", "timed_out", "interrupted")]
    good = ended.count("succeeded")

    for who in ("vera", "olga", "root"):
        page = person(who).get("/actions/restart")
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", page.text)
        assert "role:operator, user:olga, token:writer <small>(and admins)</small>" in text
        assert "user:root, user:ada" in text
        assert "2 approvals" in text and "always wait for confirmation" in text
        rate = round(100 * good / len(ended))
        assert f"Success rate <b>{rate}%</b>" in text
        assert f"{good} of {len(ended)} finished runs succeeded, {len(ended) - good} failed" in text
        assert f"{len(counted)} runs in all" in text
    other = re.sub(r"\s+", " ", person("root").get("/actions/other").text)
    assert "Success rate <b>0%</b>" in other and "1 runs in all" not in other
    assert "anyone whose role may run actions" in other


def test_admin_creates_edits_and_runs_an_action_with_the_form(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    root: Person = person("root")
    assert "/actions/new" in root.get("/actions").text
    blank = root.get("/actions/new")
    assert blank.status_code == 200 and 'name="definition"' in blank.text
    made = root.post("/actions", {"name": "greet", "description": "Say hello", "definition": GREET})
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/actions/greet?done=action_saved"
    stored = api.get("/api/v1/actions/greet").json()
    assert stored["managed_by"] == "api" and stored["description"] == "Say hello"
    assert stored["argv"] == ["/bin/echo", "hello", "{{ params.who }}"]
    [created] = _audit(session_factory, "action.created", "greet")
    assert created.actor == "user:root" and created.detail["argv"][1] == "hello"
    assert created.detail["via"] == "web" and created.detail["description"] == "Say hello"

    page = root.get("/actions/greet?done=action_saved")
    assert "Action saved." in page.text
    assert 'href="/actions/greet/edit"' in page.text and 'href="/actions/greet/delete"' in page.text
    ran = root.post("/actions/greet/run", {"param.who": "bob"})
    assert ran.status_code == 303 and ran.headers["location"].startswith("/runs/")
    run = api.get("/api/v1" + ran.headers["location"]).json()
    assert run["action_name"] == "greet" and run["params"] == {"who": "bob"}

    edit = root.get("/actions/greet/edit")
    assert edit.status_code == 200
    assert "/bin/echo" in edit.text and 'value="Say hello"' in edit.text
    assert "kind: shell" in edit.text
    changed = GREET + "risk: high\n"
    saved = root.post("/actions/greet", {"description": "Greet", "definition": changed})
    assert saved.status_code == 303
    after = api.get("/api/v1/actions/greet").json()
    assert after["risk"] == "high" and after["description"] == "Greet"
    assert len(_audit(session_factory, "action.updated", "greet")) == 1
    taken = root.post("/actions", {"name": "greet", "definition": GREET})
    assert taken.status_code == 409 and 'id="name-error"' in taken.text


def test_a_yaml_error_is_shown_next_to_the_textarea_and_nothing_is_stored(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    root: Person = person("root")
    cases = [
        (GREET + "timeout_seconds: lots\n", ("line 5", "timeout_seconds")),
        ('kind: shell\nargv: ["echo", "{{ params.nope }}"]\n', ("line 2", "argv[1]", "nope")),
        ("kind: http\nargv: [echo]\n", ("http",)),
        ("kind: shell\nargv: [echo\n", ("invalid YAML",)),
        ("kind: shell\nargv: [echo]\nrisk: low\nrisk: high\n", ("line 4", "duplicate key")),
        (GREET + "name: other\n", ("line 5", "name", "its own field")),
    ]
    for definition, expected in cases:
        refused = root.post("/actions", {"name": "broken", "definition": definition})
        assert refused.status_code == 422, definition
        errors = _definition_errors(refused.text)
        for part in expected:
            assert part in errors, (definition, errors)
        assert 'aria-describedby="definition-error"' in refused.text
        assert definition.split("\n")[0] in refused.text  # what was typed is kept
    bad_name = root.post("/actions", {"name": "Bad Name", "definition": GREET})
    assert bad_name.status_code == 422 and 'id="name-error"' in bad_name.text
    assert api.get("/api/v1/actions/broken").status_code == 404
    assert api.get("/api/v1/actions").json() == []
    assert len(_audit(session_factory, "action.refused", "broken")) == len(cases)


def test_a_file_managed_action_or_rule_is_read_only_here(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    _file_managed(session_factory)
    root: Person = person("root")
    page = root.get("/actions/rotate-logs")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Defined in <code>catalog/actions.yaml</code>; read-only here" in text
    assert "run <code>sophrosyne apply</code>" in text
    assert "/actions/rotate-logs/edit" not in page.text
    assert "/actions/rotate-logs/delete" not in page.text
    assert root.get("/actions/rotate-logs/edit").status_code == 409
    assert root.get("/actions/rotate-logs/delete").status_code == 409
    refused = root.post("/actions/rotate-logs", {"definition": "kind: shell\nargv: [true]\n"})
    assert refused.status_code == 409 and "managed by file" in refused.text
    assert root.post("/actions/rotate-logs/delete").status_code == 409
    assert api.get("/api/v1/actions/rotate-logs").json()["argv"][0] == "/usr/sbin/logrotate"

    rule = root.get("/rules/rotate-full")
    assert rule.status_code == 200 and "catalog/rules.yaml" in rule.text
    assert "/rules/rotate-full/edit" not in rule.text
    assert (
        root.post("/rules/rotate-full", {"definition": "action: rotate-logs\n"}).status_code == 409
    )
    assert root.post("/rules/rotate-full/delete").status_code == 409
    assert _audit(session_factory, "action.updated", "rotate-logs") == []


def test_operators_and_viewers_see_no_edit_and_a_post_is_refused(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api)
    assert api.post("/api/v1/rules", json=RULE).status_code == 201
    for who in ("olga", "vera"):
        browser: Person = person(who)
        for url in ("/actions", "/actions/restart", "/rules", "/rules/restart-down"):
            page = browser.get(url)
            assert page.status_code == 200, url
            for link in ("/edit", "/delete", "/new"):
                assert link not in page.text, (who, url, link)
        for url in ("/actions/new", "/actions/restart/edit", "/rules/restart-down/delete"):
            assert browser.get(url).status_code == 403, url
        for url, form in (
            ("/actions", {"name": "x", "definition": GREET}),
            ("/actions/restart", {"definition": GREET}),
            ("/actions/restart/delete", {}),
            ("/rules", {"name": "y", "definition": "action: restart\n"}),
            ("/rules/restart-down", {"definition": "action: restart\n"}),
            ("/rules/restart-down/delete", {}),
        ):
            refused = browser.post(url, form)
            assert refused.status_code == 403, (who, url)
    assert api.get("/api/v1/actions/restart").json()["description"] == ""
    assert [a["name"] for a in api.get("/api/v1/actions").json()] == ["restart"]
    assert [r["name"] for r in api.get("/api/v1/rules").json()] == ["restart-down"]


def test_delete_is_refused_while_a_rule_uses_the_action(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api)
    assert api.post("/api/v1/rules", json=RULE).status_code == 201
    root: Person = person("root")
    detail = root.get("/actions/restart")
    assert 'href="/rules/restart-down"' in detail.text
    confirm = root.get("/actions/restart/delete")
    assert confirm.status_code == 200
    assert "cannot be deleted while rules use it" in confirm.text
    assert 'action="/actions/restart/delete"' not in confirm.text
    refused = root.post("/actions/restart/delete")
    assert refused.status_code == 409 and "used by rules" in refused.text
    assert api.get("/api/v1/actions/restart").status_code == 200

    assert 'action="/rules/restart-down/delete"' in root.get("/rules/restart-down/delete").text
    gone = root.post("/rules/restart-down/delete")
    assert gone.status_code == 303 and gone.headers["location"] == "/rules?done=rule_deleted"
    assert 'action="/actions/restart/delete"' in root.get("/actions/restart/delete").text
    deleted = root.post("/actions/restart/delete")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/actions?done=action_deleted"
    assert api.get("/api/v1/actions/restart").status_code == 404
    assert len(_audit(session_factory, "rule.deleted", "restart-down")) == 1
    [entry] = _audit(session_factory, "action.deleted", "restart")
    assert entry.actor == "user:root" and entry.detail["name"] == "restart"
    assert entry.detail["via"] == "web"
    # The action was made through the API: the same flow, which says so.
    [made] = _audit(session_factory, "action.created", "restart")
    assert made.actor == "token:writer" and made.detail["via"] == "api"


def test_rules_pages_list_show_and_edit_rules(
    api: Api, person: Any, session_factory: sessionmaker[Session]
) -> None:
    add_action(api)
    _file_managed(session_factory)
    root: Person = person("root")
    made = root.post(
        "/rules",
        {
            "name": "restart-down",
            "description": "Restart a service that is down",
            "definition": "matchers: ['alertname=\"ServiceDown\"']\naction: restart\n"
            "mode: confirm\nparameters:\n  service: '{{ labels.service }}'\n",
        },
    )
    assert made.status_code == 303, made.text
    stored = api.get("/api/v1/rules/restart-down").json()
    assert stored["mode"] == "confirm" and stored["action"] == "restart"
    assert len(_audit(session_factory, "rule.created", "restart-down")) == 1

    listing = root.get("/rules")
    assert listing.status_code == 200
    text = re.sub(r"\s+", " ", listing.text)
    assert 'href="/rules/restart-down"' in text and 'href="/rules/rotate-full"' in text
    assert "alertname=&#34;ServiceDown&#34;" in text and "confirm" in text
    assert 'href="/actions/restart"' in text and ">file<" in text
    assert 'href="/rules"' in root.get("/").text  # in the navigation

    detail = root.get("/rules/restart-down")
    assert detail.status_code == 200 and "Restart a service that is down" in detail.text
    assert "/rules/restart-down/edit" in detail.text
    edit = root.get("/rules/restart-down/edit")
    assert "mode: confirm" in edit.text and "labels.service" in edit.text

    unknown = root.post("/rules/restart-down", {"definition": "action: nope\nmode: confirm\n"})
    assert unknown.status_code == 422
    assert "action" in _definition_errors(unknown.text)
    assert api.get("/api/v1/rules/restart-down").json()["action"] == "restart"
    off = root.post(
        "/rules/restart-down",
        {
            "definition": "action: restart\nmode: confirm\nenabled: false\n"
            "parameters: {service: web}\n"
        },
    )
    assert off.status_code == 303
    assert api.get("/api/v1/rules/restart-down").json()["enabled"] is False
    assert root.get("/rules/nope").status_code == 404
