"""Every core skill obeys the skill contract: no finding at all, every dry run passes.

Core skills are loaded through the same validation path as generated skills, so this is the
gate they pass at start-up; the demo variant and rescheduled or re-tuned versions (what a
deployment or the review loop writes) must pass it too.
"""

from __future__ import annotations

import ast

import pytest

from sidecar.validation import validate_source
from skills_core.classify import (
    CORE_SKILL_IDS,
    CORE_SKILLS_DIR,
    demo_source,
    load_rules,
    with_constants,
    with_schedule,
)

from .conftest import filename, others, source


def manifest(src: str) -> dict[str, object]:
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MANIFEST":
            value: dict[str, object] = ast.literal_eval(node.value)
            return value
    raise AssertionError("no MANIFEST")


def test_the_core_skills_are_exactly_these_files() -> None:
    files = sorted(p.name for p in CORE_SKILLS_DIR.glob("*.py"))
    assert files == ["cron_watchdog.py", "health_check.py", "heartbeat.py", "incident_triage.py"]
    assert sorted(CORE_SKILL_IDS) == [
        "cron-watchdog",
        "health-check",
        "heartbeat",
        "incident-triage",
    ]


@pytest.mark.parametrize("skill_id", CORE_SKILL_IDS)
def test_core_skill_validates_with_no_findings(skill_id: str) -> None:
    report = validate_source(
        source(skill_id), filename(skill_id), existing_function_ids=others(skill_id)
    )
    assert report.ok, report.render()
    assert report.findings == []
    assert report.skill is not None
    assert [f.fn_id for f in report.skill.functions] == [skill_id]
    assert report.dry_runs and all(r.ok for r in report.dry_runs), report.dry_runs


@pytest.mark.parametrize("skill_id", CORE_SKILL_IDS)
def test_core_skill_ids_are_taken_for_everyone_else(skill_id: str) -> None:
    report = validate_source(
        source(skill_id), filename(skill_id), existing_function_ids=frozenset(CORE_SKILL_IDS)
    )
    assert report.rules() == ["function-id-taken"]


def test_demo_variant_runs_the_health_check_every_minute() -> None:
    demo = demo_source("health-check")
    report = validate_source(demo, "health_check.py", existing_function_ids=others("health-check"))
    assert report.ok and report.findings == [], report.render()
    assert manifest(demo)["triggers"] == [{"cron": "* * * * *"}]
    assert report.skill is not None
    assert report.skill.functions[0].triggers[0].cron == "* * * * *"
    assert "STEP_SECONDS = 15" in demo and "BASELINE_MINUTES = 60" in demo


def test_other_skills_run_unchanged_in_the_demo() -> None:
    assert demo_source("heartbeat") == source("heartbeat")
    assert demo_source("incident-triage") == source("incident-triage")


def test_a_deployment_can_reschedule_a_core_skill() -> None:
    hourly = with_schedule(source("heartbeat"), "TZ=Europe/Paris 0 * * * *")
    report = validate_source(hourly, "heartbeat.py", existing_function_ids=others("heartbeat"))
    assert report.ok and report.findings == [], report.render()
    assert manifest(hourly)["triggers"] == [{"cron": "TZ=Europe/Paris 0 * * * *"}]


def test_rescheduling_needs_exactly_one_cron_trigger() -> None:
    with pytest.raises(ValueError, match="exactly one cron"):
        with_schedule(source("incident-triage"), "* * * * *")


def test_the_review_loop_can_rewrite_thresholds() -> None:
    tuned = with_constants(
        source("health-check"), {"ERROR_RATE_CRITICAL": 0.1, "WATCHED_SERVICES": ["checkout"]}
    )
    report = validate_source(tuned, "health_check.py", existing_function_ids=others("health-check"))
    assert report.ok and report.findings == [], report.render()
    assert "ERROR_RATE_CRITICAL = 0.1  # hard" in tuned
    assert "WATCHED_SERVICES = ['checkout']" in tuned
    # Nothing else moved.
    assert tuned.count("\n") == source("health-check").count("\n")


def test_rewriting_an_unknown_constant_is_refused() -> None:
    with pytest.raises(ValueError, match="NO_SUCH_THRESHOLD"):
        with_constants(source("health-check"), {"NO_SUCH_THRESHOLD": 1})


def test_rules_are_read_from_the_skill_file_not_a_copy() -> None:
    rules = load_rules("health-check")
    assert rules.ERROR_RATE_CRITICAL == 0.05
    assert callable(rules.classify_rules) and callable(rules.summarize)
    assert not hasattr(rules, "health_check")  # handlers are never executed or exposed
    with pytest.raises(ValueError, match="not a core skill"):
        load_rules("../../etc/passwd")
