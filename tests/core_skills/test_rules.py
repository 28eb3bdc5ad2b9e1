"""The rule-based classifiers at their thresholds, read from the skill files themselves.

``load_rules`` executes only the constants and plain helper functions of a core skill, so
these tests exercise the very code the sandbox runs — there is no copy that could drift.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import promql_parser
import pytest

from skills_core.classify import load_rules

from .conftest import snapshot

HC = load_rules("health-check")
TRIAGE = load_rules("incident-triage")


def features(**signals: tuple[float | None, float | None]) -> dict[str, Any]:
    """features(error_rate=(now, baseline), ...) with a busy service unless rps is given."""
    out = {"rps": {"now": 40.0, "baseline": 40.0, "since": None}}
    for name, (now, baseline) in signals.items():
        out[name] = {"now": now, "baseline": baseline, "since": None}
    return out


def label(**signals: tuple[float | None, float | None]) -> str:
    verdict: str = HC.classify_rules(features(**signals))["label"]
    return verdict


def test_queries_are_valid_promql() -> None:
    promql_parser.parse(HC.signals_query())
    promql_parser.parse(TRIAGE.detail_query("checkout"))
    for query in [*HC.SIGNALS.values()]:
        promql_parser.parse(query)


@pytest.mark.parametrize(
    ("now", "baseline", "expected"),
    [
        (0.05, 0.004, "critical"),  # at the hard limit
        (0.049, 0.004, "degraded"),
        (0.05, 0.05, "critical"),  # hard: even when it has always been this bad
        (0.03, 0.03, "normal"),  # chronic: not twice its baseline
        (0.03, None, "degraded"),  # no baseline yet: the absolute limit alone
        (0.019, 0.001, "normal"),
    ],
)
def test_error_rate_thresholds(now: float, baseline: float | None, expected: str) -> None:
    assert label(error_rate=(now, baseline)) == expected


def test_too_few_errors_are_not_a_rate() -> None:
    quiet = features(error_rate=(0.5, 0.0))
    quiet["rps"]["now"] = 0.02  # 6 requests in 5 minutes, 3 failed
    assert HC.classify_rules(quiet)["label"] == "normal"
    busy_enough = features(error_rate=(0.5, 0.0))
    busy_enough["rps"]["now"] = 0.04  # 12 requests, 6 failed: MIN_ERRORS reached
    assert HC.classify_rules(busy_enough)["label"] == "critical"


@pytest.mark.parametrize(
    ("signal", "now", "baseline", "expected"),
    [
        ("p95", 0.33, 0.22, "degraded"),  # x1.5
        ("p95", 0.32, 0.22, "normal"),
        ("p95", 0.66, 0.22, "critical"),  # x3
        ("p99", 0.70, 0.36, "normal"),  # x1.94 < 2 for p99
        ("p99", 0.72, 0.36, "degraded"),
        ("p99", 1.44, 0.36, "critical"),
        ("p95", 0.009, 0.004, "normal"),  # x2.2 but only 5 ms slower
        ("p95", 0.9, None, "normal"),  # no baseline: latency has no absolute limit
    ],
)
def test_latency_is_judged_against_its_baseline(
    signal: str, now: float, baseline: float | None, expected: str
) -> None:
    assert label(**{signal: (now, baseline)}) == expected


def test_latency_on_very_low_traffic_is_noise() -> None:
    slow = features(p95=(2.0, 0.2))
    slow["rps"]["now"] = 0.1
    assert HC.classify_rules(slow)["label"] == "normal"


@pytest.mark.parametrize(
    ("signal", "now", "baseline", "expected"),
    [
        ("cpu", 0.95, 0.9, "critical"),
        ("cpu", 0.80, 0.8, "degraded"),
        ("cpu", 0.79, 0.7, "normal"),
        ("cpu", 0.61, 0.40, "degraded"),  # risen x1.5 and above 60%
        ("cpu", 0.55, 0.20, "normal"),  # risen a lot, but below 60%
        ("memory", 0.95, 0.4, "critical"),
        ("memory", 0.85, 0.84, "degraded"),
        ("memory", 0.65, 0.40, "degraded"),
    ],
)
def test_saturation_thresholds(signal: str, now: float, baseline: float, expected: str) -> None:
    assert label(**{signal: (now, baseline)}) == expected


def test_only_hard_limits_set_a_floor() -> None:
    verdict = HC.classify_rules(features(error_rate=(0.3, 0.004), p95=(1.0, 0.2)))
    assert verdict["label"] == "critical"
    assert verdict["floor"] == "critical" and verdict["floor_reason"].startswith("error rate")
    soft = HC.classify_rules(features(p95=(1.0, 0.2)))
    assert (soft["label"], soft["floor"]) == ("critical", "normal")


def test_recent_level_is_a_median_so_one_point_is_not_a_trend() -> None:
    points = [[i * 60, 0.2] for i in range(30)] + [[1800, 0.2], [1860, 0.2], [1920, 5.0]]
    assert HC.trend(points)["now"] == 0.2
    rising = [[i * 60, 0.2] for i in range(30)] + [[1800, 1.0], [1860, 1.1], [1920, 1.2]]
    assert HC.trend(rising) == {"now": 1.1, "baseline": 0.2, "since": 1800}


def test_a_fresh_prometheus_has_no_baseline() -> None:
    assert HC.trend([[i * 60, 0.2] for i in range(8)])["baseline"] is None


def test_the_incident_id_holds_while_the_incident_lasts() -> None:
    """Two runs a minute apart see the same onset, so they name the same incident."""
    series = snapshot("critical_error_burst")["query_range"]
    later = [
        {**s, "values": [*s["values"][1:], [s["values"][-1][0] + 60, s["values"][-1][1]]]}
        for s in series
    ]
    ids = []
    for answer, checked_at in ((series, 1_704_110_400), (later, 1_704_110_460)):
        checkout = HC.summarize(answer)["checkout"]
        rules = HC.classify_rules(checkout)
        verdict = {"features": checkout, "breaches": rules["breaches"], **rules}
        verdict["decided_by"] = "rules"
        ids.append(HC.incident("checkout", verdict, checked_at)["incident_id"])
    assert ids == ["checkout-20240101T1150Z"] * 2


def test_backoff_doubles_up_to_five_minutes() -> None:
    for rules in (HC, TRIAGE):
        assert [rules.backoff_ms(a) for a in range(5)] == [30000, 60000, 120000, 240000, 300000]


def test_triage_refuses_service_names_that_would_break_the_query() -> None:
    assert re.fullmatch(TRIAGE.SERVICE_NAME, "checkout-v2.eu_west:1")
    assert not re.fullmatch(TRIAGE.SERVICE_NAME, 'checkout"} or vector(1) or {x="')


def fact_signals(**levels: tuple[float | None, float]) -> dict[str, Any]:
    return {name: {"before": b, "now": n, "peak": n} for name, (b, n) in levels.items()}


def deploy(minutes_before_onset: float, onset: int = 1_704_110_400) -> dict[str, Any]:
    at = datetime.datetime.fromtimestamp(onset - minutes_before_onset * 60, datetime.UTC)
    return {"service": "checkout", "version": "v9", "at": at.isoformat(), "author": "ana"}


def cause(
    signals: dict[str, Any], deploys: list[dict[str, Any]], onset: int = 1_704_110_400
) -> str:
    facts = TRIAGE.evidence(signals, deploys, onset)
    found: str = TRIAGE.rule_hypothesis("checkout", signals, facts, onset)["cause"]
    return found


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(3, "deploy"), (30, "deploy"), (-2, "deploy"), (31, "errors"), (-3, "errors")],
)
def test_a_deploy_shortly_before_an_error_spike_is_the_suspect(
    minutes: float, expected: str
) -> None:
    errors = fact_signals(error_rate=(0.004, 0.3))
    assert cause(errors, [deploy(minutes)]) == expected


def test_a_deploy_before_a_latency_regression_is_the_suspect() -> None:
    slower = fact_signals(error_rate=(0.004, 0.005), p95=(0.2, 0.5))
    assert cause(slower, [deploy(5)]) == "deploy"
    assert cause(slower, []) == "downstream"


def test_an_error_blip_below_the_spike_thresholds_does_not_blame_a_deploy() -> None:
    small = fact_signals(error_rate=(0.004, 0.015))  # x3.75 but under 2%
    assert cause(small, [deploy(5)]) == "unknown"


@pytest.mark.parametrize("signal", ["memory", "cpu"])
def test_saturation_points_at_capacity(signal: str) -> None:
    full = fact_signals(**{signal: (0.4, 0.9), "error_rate": (0.004, 0.03)})
    assert cause(full, []) == "capacity"


def test_the_llm_answer_is_checked_before_it_is_used() -> None:
    facts = [{"id": "E1", "kind": "error_rate", "text": "..."}]
    good = '```json\n{"cause": "deploy", "hypothesis": "v9 broke it", "evidence": ["E1", "E7"], "actions": ["roll back"]}\n```'
    assert TRIAGE.parse_answer(good, facts) == {
        "cause": "deploy",
        "hypothesis": "v9 broke it",
        "evidence": ["E1"],  # E7 does not exist: dropped
        "actions": ["roll back"],
    }
    for bad in [
        "no json here",
        '{"cause": "aliens", "hypothesis": "x", "actions": ["y"]}',
        '{"cause": "deploy", "hypothesis": "", "actions": ["y"]}',
        '{"cause": "deploy", "hypothesis": "x", "actions": []}',
        '{"cause": "deploy", "hypothesis": "x", "actions": ["y"]',
    ]:
        assert TRIAGE.parse_answer(bad, facts) is None, bad
