"""Alertmanager-style label matchers: parsing, semantics, and helpers."""

from __future__ import annotations

import pytest

from sophrosyne.domains.rules.matching import (
    MatcherSyntaxError,
    first_mismatch,
    parse_matcher,
    parse_matchers,
)

LABELS = {"alertname": "Down", "job": "web", "instance": "10.0.0.1:9100", "team": ""}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('job="web"', {"job": "web"}, True),
        ('job="web"', {"job": "db"}, False),
        ('job!="web"', {"job": "db"}, True),
        ('job!="web"', {"job": "web"}, False),
        ('job=~"web|db"', {"job": "db"}, True),
        ('job=~"web|db"', {"job": "cache"}, False),
        ('job!~"web|db"', {"job": "cache"}, True),
        ('job!~"web|db"', {"job": "web"}, False),
    ],
)
def test_each_operator(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('job=~"web"', "webserver", False),
        ('job=~"web"', "myweb", False),
        ('job=~"web.*"', "webserver", True),
        ('job=~"a|b"', "ab", False),
        ('job!~"web"', "webserver", True),
    ],
)
def test_regexes_are_anchored_at_both_ends(text: str, value: str, expected: bool) -> None:
    assert parse_matcher(text).matches({"job": value}) is expected


def test_missing_label_equals_empty_string() -> None:
    assert parse_matcher('team=""').matches({"job": "web"})
    assert not parse_matcher('team="ops"').matches({"job": "web"})
    assert parse_matcher('team=~"ops|"').matches({})
    assert parse_matcher('team!~".+"').matches({})


def test_not_empty_requires_presence() -> None:
    has_team = parse_matcher('team!=""')
    assert has_team.matches({"team": "ops"})
    assert not has_team.matches({"job": "web"})
    assert not has_team.matches({"team": ""})


def test_quoted_values_with_escapes() -> None:
    assert parse_matcher(r'msg="say \"hi\""').value == 'say "hi"'
    assert parse_matcher(r'path="C:\\temp"').value == "C:\\temp"
    assert parse_matcher(r'text="a\nb\tc"').value == "a\nb\tc"
    # An unknown escape keeps its backslash, so regex escapes survive.
    m = parse_matcher(r'instance=~"10\.0\..*"')
    assert m.value == r"10\.0\..*"
    assert m.matches({"instance": "10.0.3.1"})
    assert not m.matches({"instance": "10a0b3"})


def test_quoted_value_may_contain_spaces_and_operators() -> None:
    m = parse_matcher('summary="a != b =~ c"')
    assert m.name == "summary" and m.op == "=" and m.value == "a != b =~ c"


def test_unquoted_values_and_whitespace() -> None:
    m = parse_matcher("  job = web  ")
    assert (m.name, m.op, m.value) == ("job", "=", "web")
    m = parse_matcher("severity=~critical|warning")
    assert (m.op, m.value) == ("=~", "critical|warning")
    assert m.matches({"severity": "warning"})
    empty = parse_matcher("team=")
    assert empty.value == ""


@pytest.mark.parametrize(
    "text",
    [
        'job=="web"',
        'job~"web"',
        'job>"web"',
        'job"web"',
        "",
        "job",
    ],
)
def test_bad_operator_is_a_syntax_error(text: str) -> None:
    with pytest.raises(MatcherSyntaxError, match=r"expected name, one of = != =~ !~"):
        parse_matcher(text)


@pytest.mark.parametrize("text", ['1job="web"', 'job-name="web"', 'job.name="x"', '="web"'])
def test_bad_name_is_a_syntax_error(text: str) -> None:
    with pytest.raises(MatcherSyntaxError) as info:
        parse_matcher(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ['job=~"(web"', 'job!~"[a-"', 'job=~"*"'])
def test_bad_regex_is_a_syntax_error(text: str) -> None:
    with pytest.raises(MatcherSyntaxError, match="bad regular expression") as info:
        parse_matcher(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ['job="web', 'job="web"x', 'job="a\\"'])
def test_unterminated_or_trailing_quotes_are_refused(text: str) -> None:
    with pytest.raises(MatcherSyntaxError):
        parse_matcher(text)


def test_syntax_error_is_a_value_error() -> None:
    # Callers that only know ValueError (pydantic validators) still catch it.
    assert issubclass(MatcherSyntaxError, ValueError)


@pytest.mark.parametrize(
    ("text", "guaranteed"),
    [
        ('team="ops"', True),
        ('team=""', False),
        ('team!=""', True),
        ('team!="ops"', False),
        ('team=~"ops|dev"', True),
        ('team=~".*"', False),
        ('team=~"ops|"', False),
        ('team!~""', True),
        ('team!~"ops"', False),
        ('team!~".*"', True),
    ],
)
def test_guarantees_label_truth_table(text: str, guaranteed: bool) -> None:
    m = parse_matcher(text)
    assert m.guarantees_label() is guaranteed
    if guaranteed:
        # The promise must hold: an absent label never matches.
        assert not m.matches({})


def test_first_mismatch() -> None:
    matchers = parse_matchers(['alertname="Down"', 'job=~"web|db"', 'team!=""'])
    assert first_mismatch(matchers, {"alertname": "Down", "job": "web", "team": "ops"}) is None
    miss = first_mismatch(matchers, {"alertname": "Down", "job": "cache"})
    assert miss is matchers[1]
    miss = first_mismatch(matchers, {"alertname": "Up", "job": "cache"})
    assert miss is matchers[0]
    assert first_mismatch(matchers, {"alertname": "Down", "job": "db"}) is matchers[2]


def test_empty_matcher_list_matches_everything() -> None:
    assert first_mismatch((), {}) is None
    assert first_mismatch((), LABELS) is None


@pytest.mark.parametrize(
    "text",
    [
        'job="web"',
        'job!=""',
        'job=~"web|db.*"',
        'job!~"a\\\\b"',
        r'msg="say \"hi\""',
        r'msg="line1\nline2"',
        r'path="C:\\temp\\"',
        "job=web",
        r'instance=~"10\.0\..*"',
    ],
)
def test_str_round_trips_through_parse(text: str) -> None:
    m = parse_matcher(text)
    again = parse_matcher(str(m))
    assert (again.name, again.op, again.value) == (m.name, m.op, m.value)
    assert str(again) == str(m)


def test_str_is_the_canonical_quoted_form() -> None:
    assert str(parse_matcher("job = web")) == 'job="web"'
    assert str(parse_matcher('msg="a\\"b"')) == 'msg="a\\"b"'
