"""Bounded self-repair and the critic gate."""

from __future__ import annotations

import pytest

from agent.loop.critic import CriticGate, CriticVerdict, parse_verdict, rule_based_review
from agent.loop.repair import Check, RepairTracker
from tests.agent.skills import GOOD


def test_two_repair_rounds_then_stop_with_what_is_wrong() -> None:
    tracker = RepairTracker(max_repairs=2)
    fail = Check("validation", False, "latency-watch", "line 3: [import-not-allowed] os")
    assert tracker.observe(fail) is None
    assert "Repair round 1 of 2" in tracker.note()
    assert tracker.observe(Check("validation", True, "latency-watch")) is None
    assert tracker.observe(fail) is None
    assert "Repair round 2 of 2" in tracker.note()
    explanation = tracker.observe(fail)
    assert explanation is not None
    assert "stopped after 2 repair rounds" in explanation
    assert "import-not-allowed" in explanation


def test_parse_verdict_reads_json_inside_prose_and_normalises_scales() -> None:
    verdict = parse_verdict(
        'Here you go: {"scores": {"meets_requirement": 9, "deterministic": 1.0, '
        '"safe": 0.8, "llm_fallback": 1, "schedule_cost": 0.5}, "notes": ["ok"]} thanks'
    )
    assert verdict is not None
    assert verdict.scores["meets_requirement"] == pytest.approx(0.9)
    assert verdict.score == pytest.approx((0.9 + 1 + 0.8 + 1 + 0.5) / 5)


def test_parse_verdict_marks_missing_criteria_and_rejects_garbage() -> None:
    verdict = parse_verdict('{"scores": {"safe": 1}}')
    assert verdict is not None
    assert verdict.scores["deterministic"] == 0.5
    assert "deterministic was not scored" in verdict.notes
    assert parse_verdict("looks fine to me") is None
    assert parse_verdict('{"scores": "high"}') is None


def test_hard_criteria_fail_the_gate_whatever_the_mean() -> None:
    scores = {"meets_requirement": 1.0, "deterministic": 1.0, "safe": 0.2}
    verdict = CriticVerdict(scores={**scores, "llm_fallback": 1.0, "schedule_cost": 1.0})
    assert verdict.score > 0.8
    assert not verdict.passed(0.7)


def test_gate_allows_one_revision_then_reports_concerns() -> None:
    low = CriticVerdict(scores=dict.fromkeys(("meets_requirement", "deterministic", "safe"), 0.4))
    gate = CriticGate(bar=0.7, max_revisions=1)
    assert gate.needs_review("a@1")
    assert gate.decide("a@1", low) == "revise"
    assert not gate.needs_review("a@1")
    assert gate.decide("a@2", low) == "concerns"
    high = CriticVerdict(scores=dict.fromkeys(("deterministic", "safe"), 1.0))
    assert CriticGate().decide("b@1", high) == "accept"


def test_rule_based_review_checks_the_llm_fallback_and_schedule() -> None:
    manifest = {"capabilities": {"llm": {"per_run_usd": 0.02, "per_week_usd": 0.5}}, "triggers": []}
    assert rule_based_review(GOOD, manifest).scores["llm_fallback"] == 1.0
    without = GOOD.replace("except skill.LLMError:", "except Exception:")
    review = rule_based_review(without, manifest)
    assert review.scores["llm_fallback"] == 0.0
    assert not review.passed(0.7) or review.score < 1.0
    every_minute = {"triggers": [{"cron": "* * * * *"}], "capabilities": {}}
    assert rule_based_review("", every_minute).scores["schedule_cost"] < 0.5
