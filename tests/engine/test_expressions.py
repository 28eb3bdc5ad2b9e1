"""Inngest's CEL dialect: leniency for missing fields, has(), keys, priorities and safety caps."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.expressions import (
    MAX_EXPRESSION_LENGTH,
    MAX_MAP_FILTER_INPUT,
    Expression,
    ExpressionError,
    compile_expression,
    eval_bool,
    eval_int,
    eval_key,
)

EVENT: dict[str, Any] = {
    "name": "demo/go",
    "data": {
        "x": 2,
        "f": 2.0,
        "user": "U1",
        "acct": "a9",
        "nothing": None,
        "function_id": "demo-x",
        "profile": {"id": 7, "tags": ["a", "b"]},
        "items": [1, 2, 3],
        "key with space": "yes",
    },
}
VARS: dict[str, Any] = {"event": EVENT, "async": {"data": {"x": 2, "user": "u1"}}}


def ev(text: str, variables: dict[str, Any] | None = None) -> object:
    return compile_expression(text).eval(VARS if variables is None else variables)


# -- compiling -------------------------------------------------------------------------------


def test_compile_is_cached_by_text() -> None:
    assert compile_expression("event.data.x > 1") is compile_expression("event.data.x > 1")
    assert isinstance(compile_expression("event.data.x > 1"), Expression)


def test_length_cap() -> None:
    padding = " " * (MAX_EXPRESSION_LENGTH - len("true"))
    assert ev("true" + padding) is True
    with pytest.raises(ExpressionError, match="the limit is 4096"):
        compile_expression("true " + padding)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("event.data.x ==", "does not parse"),
        ("event.data.x = 1", "does not parse"),
        ("evnt.data.x == 1", "unknown variable evnt; use event, async or vars"),
        ("steps.a == 1", "unknown variable steps"),
        ("now() > 1", "now() is an Inngest function this engine does not support"),
        ("json_parse(event.data.s).a == 1", "json_parse()"),
        ("event.data.items.map(a, event.data.items.map(b, b))", "comprehension inside another"),
        ("event.data.items.all(a, [1].exists(b, b == a))", "comprehension inside another"),
    ],
)
def test_compile_errors_name_the_expression(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert reason in str(info.value)
    assert repr(text) in str(info.value)
    assert info.value.expression == text
    assert isinstance(info.value, ValueError)


def test_comprehension_variables_and_type_names_are_not_unknown() -> None:
    assert ev("event.data.items.exists(i, i == 3)") is True
    assert ev("event.data.items.map(i, i * 2)") == [2, 4, 6]
    assert ev("type(event.data.x) == int") is True


def test_strings_and_comments_are_not_read_as_fields() -> None:
    assert ev("'event.data.zzz' == \"event.data.zzz\" // event.data.x") is True
    assert ev("r'\\d' == '\\\\d'") is True


# -- leniency --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event.data.missing == 1", False),
        ("event.data.missing != 1", True),
        ("event.data.missing == null", True),
        ("event.data.missing.deeper == null", True),
        ("event.data.missing.a.b != 'x'", True),
        ("event.data['missing'] == null", True),
        ('event.data["missing"] == null', True),
        ("async.data.missing == null", True),
        ("vars.anything == null", True),
        ("event.data.nothing == null", True),
        ("event.missing_top == null", True),
        ("lowercase(event.data.missing) == null", True),
    ],
)
def test_missing_fields_read_as_null(text: str, expected: bool) -> None:
    assert ev(text) is expected
    assert eval_bool(text, VARS) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("has(event.data.x)", True),
        ("has(event.data.nothing)", True),  # present with a null value
        ("has(event.data.missing)", False),
        ("!has(event.data.missing)", True),
        ("has(event.data.profile.id)", True),
        ("has(event.data.missing.id)", False),
        ("!has(event.data.missing.id)", True),
        ("has(event.data.missing) && event.data.missing == 1", False),
        ("!has(event.data.missing) || event.data.missing > 1", True),
        ("has(event.data.x) && event.data.x == 2", True),
        ("has(event.data.missing) ? event.data.missing : 'default'", "default"),
    ],
)
def test_has_is_not_fooled_by_filling(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_missing_async_variable_is_an_empty_map() -> None:
    assert ev("async.data.id == null", {"event": EVENT}) is True
    assert ev("size(async)", {"event": EVENT}) == 0


def test_ints_and_doubles_compare_equal() -> None:
    assert ev("1 == 1.0") is True
    assert ev("event.data.x == 2.0") is True
    assert ev("event.data.f == 2") is True
    assert ev("event.data.x > 1.5") is True


def test_inngest_forms() -> None:
    assert ev("event.data.function_id == 'demo-x'") is True
    assert ev("event.data.user == async.data.user") is False
    assert ev("lowercase(event.data.user) == async.data.user") is True
    assert ev("uppercase(async.data.user)") == "U1"
    assert ev("lowercase(event.data.x)") is None  # not a string: null, not an error
    assert ev("event.data.user + '-' + event.data.acct") == "U1-a9"
    assert ev("event.data['key with space']") == "yes"
    assert ev("event.data.profile.tags[1]") == "b"
    assert ev("'b' in event.data.profile.tags && size(event.data.items) == 3") is True
    assert ev("event.data.user.startsWith('U') && event.data.acct.matches('^a[0-9]$')") is True
    assert ev("event.data.function_id.contains('-x') || event.name == 'nope'") is True
    assert ev("event.data.x > 1 ? 'big' : 'small'") == "big"


def test_evaluation_errors_raise_expression_error() -> None:
    with pytest.raises(ExpressionError, match="failed: TypeError"):
        ev("event.data.user + 1")
    with pytest.raises(ExpressionError, match="failed"):
        ev("event.data.items[7]")


def test_variables_are_not_modified() -> None:
    before = copy.deepcopy(VARS)
    ev("event.data.missing.a == null && async.data.nope == null && vars.x == null")
    assert before == VARS


def test_large_events_are_projected_not_copied() -> None:
    big = {"event": {"data": {"x": 1, "blob": "x" * 1_000_000, "many": list(range(100_000))}}}
    for _ in range(200):  # 30 ms each if the whole event were converted; about 10 µs here
        assert eval_bool("event.data.x == 1", big) is True
    assert ev("size(event.data.blob)", big) == 1_000_000


# -- the helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event.data.x > 1", True),
        ("event.data.x > 5", False),
        ("event.data.user", False),  # not a bool
        ("event.data.user + 1 == 2", False),  # error
        ("event.data.x ==", False),  # does not compile
        ("evnt.data.x == 1", False),
        ("__import__('os').system('true') == 0", False),  # not Python: an unknown function
    ],
)
def test_eval_bool(text: str, expected: bool) -> None:
    assert eval_bool(text, VARS) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event.data.user", '"U1"'),
        ("event.data.x", "2"),
        ("event.data.f", "2"),  # 2.0 and 2 share a bucket, as in Go
        ("event.data.x + 0.5", "null"),  # int + double is an error in CEL
        ("event.data.x * 1.5 > 0.0", "null"),
        ("double(event.data.x) * 1.25", "2.5"),
        ("event.data.profile", '{"id":7,"tags":["a","b"]}'),
        ("{'b': 1, 'a': [true, null]}", '{"a":[true,null],"b":1}'),
        ("event.data.missing", "null"),
        ("event.data.user + 1", "null"),  # error: the null bucket
        ("event.data.x > 5", None),  # false: not subject to the limit
        ("event.data.x > 1", "true"),
        ("event.data.user + '-' + event.data.acct", '"U1-a9"'),
        ("duration('90s')", '"1m30s"'),
        ("b'hi'", '"aGk="'),
    ],
)
def test_eval_key(text: str, expected: str | None) -> None:
    assert eval_key(text, VARS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event.data.x * 100", 200),
        ("event.data.f", 2),
        ("-600", -600),
        ("double(event.data.x) / 4.0", 0),  # 0.5: not an integer
        ("event.data.user", 0),
        ("event.data.x > 1", 0),  # a bool is not an int
        ("event.data.missing", 0),
        ("event.data.user + 1", 0),
    ],
)
def test_eval_int(text: str, expected: int) -> None:
    assert eval_int(text, VARS) == expected


# -- safety ----------------------------------------------------------------------------------


def test_map_and_filter_are_capped_by_input_size() -> None:
    small = {"event": {"data": {"items": list(range(MAX_MAP_FILTER_INPUT))}}}
    big = {"event": {"data": {"items": list(range(MAX_MAP_FILTER_INPUT + 1))}}}
    text = "event.data.items.filter(i, i % 2 == 0).size() > 0"
    assert eval_bool(text, small) is True
    with pytest.raises(ExpressionError, match=r"map\(\)/filter\(\) would walk 2001 elements"):
        compile_expression(text).eval(big)
    assert eval_bool(text, big) is False
    assert eval_key("event.data.items.map(i, i)", big) == "null"
    concatenated = "(event.data.items + event.data.items).map(i, i).size()"
    half = {"event": {"data": {"items": list(range(MAX_MAP_FILTER_INPUT // 2 + 1))}}}
    with pytest.raises(ExpressionError, match="would walk"):
        compile_expression(concatenated).eval(half)


def test_exists_and_all_are_not_capped() -> None:
    big = {"event": {"data": {"items": list(range(50_000))}}}
    assert eval_bool("event.data.items.exists(i, i == 49999)", big) is True
    assert eval_bool("event.data.items.all(i, i >= 0)", big) is True
