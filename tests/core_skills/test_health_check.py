"""health-check on recorded metric snapshots, through the real sandbox and fake capabilities.

The snapshots (snapshots/*.json, see snapshot_factory.py) are ``query_range`` answers: normal,
degraded and critical fleets, and the false alarms that tight thresholds produce (a one-point
blip, one error on very low traffic, a chronically noisy service). Each test states what the
LLM does — answers, fails, times out, runs out of budget — through fixtures and faults.
"""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.validation.outcomes import DryRunResult

from .conftest import run, snapshot

HEALTH_SNAPSHOTS = [
    "normal",
    "degraded_latency",
    "degraded_memory_leak",
    "critical_error_burst",
    "critical_latency_spike",
    "false_alarm_blip",
    "false_alarm_low_traffic",
    "false_alarm_chronic_errors",
    "fresh_prometheus",
    "no_traffic",
]
NO_LLM = {"llm": "LLMUnavailable"}


def check(
    snap: str, *, llm: dict[str, Any] | None = None, faults: dict[str, str] | None = None
) -> DryRunResult:
    fixtures: dict[str, Any] = {"metrics.query_range": snapshot(snap)["query_range"]}
    if llm is not None:
        fixtures["llm.classify"] = llm
    result = run("health-check", fixtures=fixtures, faults=faults)
    assert result.ok, result.error
    return result


def sent_events(result: DryRunResult) -> list[dict[str, Any]]:
    steps = [s for s in result.steps if s.op == "send_event"]
    return [e for s in steps for e in s.detail["events"]]


@pytest.mark.parametrize("snap", HEALTH_SNAPSHOTS)
def test_rules_classify_each_snapshot_when_the_llm_is_unavailable(snap: str) -> None:
    expected = snapshot(snap)["expected"]
    result = check(snap, faults=NO_LLM)
    services = result.return_value["services"]
    assert {name: v["label"] for name, v in services.items()} == expected
    assert all(v["fallback"] and v["decided_by"] == "rules" for v in services.values())
    unhealthy = sorted(name for name, label in expected.items() if label != "normal")
    events = sent_events(result)
    assert sorted(e["data"]["service"] for e in events) == unhealthy
    assert result.return_value["incidents"] == [e["data"]["incident_id"] for e in events]
    opened = {e["data"]["service"]: e["data"]["incident_id"] for e in events}
    assert result.return_value["open_incidents"] == opened
    assert all(e["id"] == e["data"]["triage_key"] for e in events)


def test_every_run_records_the_features_it_saw() -> None:
    result = check("degraded_latency", faults=NO_LLM)
    checkout = result.return_value["services"]["checkout"]
    assert set(checkout["features"]) == {"rps", "error_rate", "p95", "p99", "cpu", "memory"}
    p95 = checkout["features"]["p95"]
    assert p95["now"] > 1.5 * p95["baseline"] and p95["since"] is not None
    assert checkout["rules"] == "degraded"
    assert [b["signal"] for b in checkout["breaches"]] == ["p95", "p99"]
    assert result.return_value["checked_at"] > 0


def test_an_incident_event_carries_what_triage_needs() -> None:
    result = check("critical_error_burst", faults=NO_LLM)
    [event] = sent_events(result)
    data = event["data"]
    assert event["name"] == "health/incident.opened"
    # The event id names the incident and its revision: a re-sent event is deduplicated by
    # the engine, and triage runs once per revision.
    assert data["incident_id"] == "checkout-20240101T1150Z"
    assert event["id"] == data["triage_key"] == "checkout-20240101T1150Z#1"
    assert data["severity"] == "critical" and data["service"] == "checkout"
    assert "error rate" in data["reason"]
    end = snapshot("critical_error_burst")["query_range"][0]["values"][-1][0]
    assert end - 8 * 60 <= data["onset"] <= end
    assert data["features"]["error_rate"]["now"] > 0.05


def test_the_llm_verdict_is_used_when_it_answers() -> None:
    answer = {"label": "degraded", "reason": "p95 doubled\nand more", "usd": 0.001}
    result = check("degraded_latency", llm=answer)
    checkout = result.return_value["services"]["checkout"]
    assert checkout["label"] == "degraded"
    assert checkout["reason"] == "p95 doubled"  # one line
    assert checkout["decided_by"] == "llm" and checkout["fallback"] is False
    assert "llm_error" not in checkout
    [call] = [c for c in result.capability_calls if c.method == "classify"][:1]
    assert call.args["labels"] == ["normal", "degraded", "critical"]
    assert "p95" in call.args["text"] and "baseline" in call.args["text"]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("LLMUnavailable", "unavailable"), ("LLMTimeout", "timeout"), ("LLMBudgetExceeded", "budget")],
)
def test_llm_failures_fall_back_to_rules_and_say_so(fault: str, kind: str) -> None:
    result = check("degraded_latency", faults={"llm.classify": fault})
    services = result.return_value["services"]
    assert services["checkout"]["label"] == "degraded"
    assert services["search"]["label"] == "normal"
    for verdict in services.values():
        assert verdict["fallback"] is True and verdict["decided_by"] == "rules"
        assert verdict["llm_error"].startswith(f"{kind}: ")
    [event] = sent_events(result)
    assert event["data"]["decided_by"] == "rules"


def test_a_budget_spent_mid_run_falls_back_for_the_remaining_services() -> None:
    # $0.03 per call against a $0.05 per-run budget: the third service finds it spent.
    result = check("normal", llm={"label": "normal", "reason": "usual noise", "usd": 0.03})
    services = result.return_value["services"]
    assert [services[s]["decided_by"] for s in ("checkout", "payments", "search")] == [
        "llm",
        "llm",
        "rules",
    ]
    assert services["search"]["llm_error"].startswith("budget: ")
    assert all(v["label"] == "normal" for v in services.values())


def test_a_hard_limit_wins_over_an_llm_that_says_normal() -> None:
    result = check("critical_error_burst", llm={"label": "normal", "reason": "fine", "usd": 0.0})
    checkout = result.return_value["services"]["checkout"]
    assert checkout["label"] == "critical"
    assert checkout["decided_by"] == "llm"
    assert checkout["invariant"] == "normal overruled by a hard limit"
    assert checkout["reason"].startswith("error rate ")
    assert [e["data"]["severity"] for e in sent_events(result)] == ["critical"]


def test_the_llm_may_overrule_soft_thresholds() -> None:
    # Latency is judged against the baseline only (no hard limit): the LLM's "normal" stands.
    result = check("critical_latency_spike", llm={"label": "normal", "reason": "ok", "usd": 0.0})
    checkout = result.return_value["services"]["checkout"]
    assert (checkout["label"], checkout["rules"]) == ("normal", "critical")
    assert "invariant" not in checkout
    assert sent_events(result) == []


def test_an_unusable_llm_label_falls_back_to_rules() -> None:
    result = check("critical_error_burst", llm={"label": "on fire", "reason": "?", "usd": 0.0})
    checkout = result.return_value["services"]["checkout"]
    assert checkout["fallback"] is True
    assert checkout["llm_error"] == "unusable answer on fire"
    assert checkout["label"] == "critical"


def test_a_normal_fleet_opens_no_incident() -> None:
    result = check("normal", llm={"label": "normal", "reason": "usual noise", "usd": 0.0})
    assert result.return_value["incidents"] == []
    assert result.return_value["open_incidents"] == {}
    # fetch, then per service one classify and one track-incident; nothing posted or sent
    assert [s.id.split(":")[0] for s in result.steps] == ["fetch-signals"] + ["classify"] * 3 + [
        "track-incident"
    ] * 3
    assert [s.op for s in result.steps] == ["run"] * 7
    # each per-service step is labelled with its service: the run's timeline says which
    services = sorted(result.return_value["services"])
    assert [s.detail.get("label") for s in result.steps] == [None] + services * 2


def test_metrics_api_down_retries_the_run_later() -> None:
    result = run("health-check", faults={"metrics": "MetricsUnavailable"})
    assert result.error is not None
    assert result.error.type == "RetryAfterError"
    assert "metrics unavailable" in result.error.message
    assert [s.id for s in result.steps] == ["fetch-signals"]
    assert not [c for c in result.capability_calls if c.capability == "llm"]


@pytest.mark.parametrize("answer", [[], [{"labels": {"service": "x"}, "values": [[1, 0.5]]}]])
def test_no_matching_series_is_reported_not_guessed(answer: list[Any]) -> None:
    result = run("health-check", fixtures={"metrics.query_range": answer})
    assert result.ok
    assert result.return_value["status"] == "no-data"
    assert result.return_value["services"] == {}
    assert "check SIGNALS" in result.logs[0].message
