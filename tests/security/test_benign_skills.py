"""Benign skills must still validate and run: the defences cost legitimate skills nothing.

The fixtures in tests/sidecar/fixtures are the shapes the agent writes most: a cron health
check using metrics, notify and an LLM with a rule-based fallback; an event-triggered skill
that waits for another event; a digest that sleeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.validation import dry_run, validate_source

FIXTURES = Path(__file__).resolve().parents[1] / "sidecar" / "fixtures"
BENIGN = ["latency_watch.py", "incident_followup.py", "daily_digest.py"]
CORE_IDS = frozenset({"heartbeat", "health-check", "incident-triage"})


def source(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize("name", BENIGN)
def test_benign_skill_validates_and_dry_runs(name: str) -> None:
    report = validate_source(source(name), name, existing_function_ids=CORE_IDS)
    assert report.ok, report.render()
    assert report.findings == []
    assert report.skill is not None
    assert [r.ok for r in report.dry_runs] == [True] * len(report.skill.functions)


def test_health_check_falls_back_to_rules_when_the_llm_fails() -> None:
    spike = [{"labels": {}, "values": [[1, 0.1], [2, 0.1], [3, 0.1], [4, 2.5]]}]
    result = dry_run(
        source("latency_watch.py"),
        "latency_watch.py",
        "latency-watch",
        faults={"llm": "LLMUnavailable"},
        fixtures={"metrics.query_range": spike},
    )
    assert result.ok, result
    verdict = result.return_value["verdict"]
    assert verdict["fallback"] is True
    assert verdict["label"] == "critical"
    posted = [c for c in result.capability_calls if c.method == "post"]
    assert len(posted) == 1 and posted[0].args["channel"] == "inbox"


def test_health_check_uses_the_llm_when_it_answers() -> None:
    result = dry_run(
        source("latency_watch.py"),
        "latency_watch.py",
        "latency-watch",
        fixtures={"llm.classify": {"label": "degraded", "reason": "slow", "usd": 0.01}},
    )
    assert result.ok
    assert result.return_value["verdict"] == {
        "label": "degraded",
        "reason": "slow",
        "fallback": False,
    }


def test_wait_for_event_resolves_with_a_stubbed_event() -> None:
    resolved = {"name": "health/incident.resolved", "data": {"incident_id": "inc-1", "by": "ana"}}
    result = dry_run(
        source("incident_followup.py"),
        "incident_followup.py",
        "incident-followup",
        step_stubs={"wait-resolution": resolved},
    )
    assert result.ok
    assert result.return_value == {"incident": "inc-1", "escalated": False, "by": "ana"}
    assert [s.op for s in result.steps] == ["wait_for_event"]


def test_wait_for_event_timeout_escalates() -> None:
    result = dry_run(source("incident_followup.py"), "incident_followup.py", "incident-followup")
    assert result.ok
    assert result.return_value["escalated"] is True
    sent = next(s for s in result.steps if s.op == "send_event")
    assert sent.detail["events"][0]["name"] == "health/incident.escalated"


def test_digest_sleeps_between_steps() -> None:
    result = dry_run(source("daily_digest.py"), "daily_digest.py", "daily-digest")
    assert result.ok
    assert [(s.id, s.op) for s in result.steps] == [
        ("deploys", "run"),
        ("errors", "run"),
        ("until-business-hours", "sleep"),
        ("post", "run"),
    ]
    assert result.steps[2].detail == {"duration_ms": 3_600_000}
