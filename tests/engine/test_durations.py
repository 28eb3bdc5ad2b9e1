"""Go-style durations: the full ParseDuration grammar plus Inngest's d and w, and Go's String()."""

from __future__ import annotations

import pytest

from engine.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("90s", 90.0),
        ("2m", 120.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("300ms", 0.3),
        ("1d", 86_400.0),
        ("2w", 1_209_600.0),
        ("1ns", 1e-9),
        ("1us", 1e-6),
        ("1\u00b5s", 1e-6),  # micro sign
        ("1\u03bcs", 1e-6),  # Greek mu
        (".5s", 0.5),
        ("1.s", 1.0),
        ("1h0m0s", 3600.0),
        ("2h45m30.5s", 9930.5),
        ("1m1m", 120.0),
        ("0s", 0.0),
        ("1.0000000009s", 1.0),  # Go truncates below a nanosecond
    ],
)
def test_parse_accepts_go_syntax(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "-1s",
        "+1s",
        "-0",
        "1x",
        "1.5",
        "s",
        ".s",
        " 1s",
        "1s ",
        "1 s",
        "1e3s",
        "1sm",
        "9999999h",
    ],
)
def test_parse_rejects_with_a_helpful_message(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert repr(text) in str(info.value)
    assert '"1h30m"' in str(info.value)
    assert info.value.text == text


def test_duration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown unit 'y'"):
        parse_duration("1y")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (90, "1m30s"),
        (5400, "1h30m0s"),
        (86_400, "24h0m0s"),
        (0.3, "300ms"),
        (1.5, "1.5s"),
        (1e-6, "1\u00b5s"),
        (1.5e-6, "1.5\u00b5s"),
        (1e-9, "1ns"),
        (-1.5, "-1.5s"),
        (3661.001, "1h1m1.001s"),
    ],
)
def test_format_matches_go(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.0, 0.001, 1.0, 59.5, 3600.0, 5400.0, 86_400.0 * 9, 1e-9])
def test_format_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-12)


def test_format_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        format_duration(float("inf"))
