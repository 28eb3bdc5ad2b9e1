"""incident-triage on recorded incidents: hypothesis, evidence, summary, retries, one thread.

Dry runs use the snapshots' detailed metrics and deploy history as fixtures. The last tests
feed the posts a run makes into the platform's real notify capability (scripted Slack Web
API) to show that one incident is one thread and that replays never post twice.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from sidecar.validation import validate_source
from sidecar.validation.outcomes import DryRunResult
from skills_core.capabilities import (
    CapabilitySettings,
    CapabilityStore,
    Grant,
    NotifyService,
    PostRequest,
)
from skills_core.capabilities.scripted_slack import ScriptedSlack
from skills_core.capabilities.settings import InboxChannel, NotifySettings

from .conftest import filename, others, posts, run, snapshot, source

TRIAGE_SNAPSHOTS = [
    "triage_error_burst",
    "triage_memory_leak",
    "triage_latency_spike",
    "triage_errors_no_deploy",
]
NO_LLM = {"llm": "LLMUnavailable"}


def triage(
    snap: str,
    *,
    llm: dict[str, Any] | None = None,
    faults: dict[str, str] | None = None,
    fresh: bool = False,
) -> DryRunResult:
    recorded = snapshot(snap)
    fixtures: dict[str, Any] = {
        "metrics.query_range": recorded["query_range"],
        "deploys.recent": recorded["deploys"],
    }
    if llm is not None:
        fixtures["llm.complete"] = llm
    event = {"name": "health/incident.opened", "data": recorded["event"]}
    return run("incident-triage", event, fixtures=fixtures, faults=faults, fresh=fresh)


@pytest.mark.parametrize("snap", TRIAGE_SNAPSHOTS)
def test_rules_name_the_cause_when_the_llm_is_unavailable(snap: str) -> None:
    result = triage(snap, faults=NO_LLM)
    assert result.ok, result.error
    out = result.return_value
    assert out["cause"] == snapshot(snap)["expected"]["cause"]
    assert out["decided_by"] == "rules" and out["fallback"] is True
    assert out["llm_error"].startswith("LLM unavailable: ")
    ids = {f["id"] for f in out["facts"]}
    assert out["evidence"] and set(out["evidence"]) <= ids
    assert out["actions"]


def test_a_bad_deploy_is_named_with_its_evidence() -> None:
    out = triage("triage_error_burst", faults=NO_LLM).return_value
    facts = {f["id"]: f for f in out["facts"]}
    cited = [facts[i] for i in out["evidence"]]
    assert [f["kind"] for f in cited] == ["error_rate", "deploy"]
    assert cited[1]["version"] == "v2.15.0" and "3 min before the onset" in cited[1]["text"]
    assert "v2.15.0" in out["hypothesis"]
    assert cited[1]["previous"] == "v2.14.0" and "v2.15.0 (after v2.14.0)" in cited[1]["text"]
    assert out["actions"][0] == "Roll checkout back to v2.14.0 (the version before v2.15.0)"


def test_the_rollback_target_is_the_previous_version_of_the_same_service() -> None:
    recorded = snapshot("triage_error_burst")
    history = [
        {"service": "checkout", "version": "v2.15.0", "at": "2024-01-01T11:47:00Z"},
        {"service": "checkout", "version": "v2.15.0", "at": "2024-01-01T11:40:00Z"},
        {"service": "payments", "version": "v9.0.0", "at": "2024-01-01T10:00:00Z"},
        # older than the evidence window, still the version a rollback returns to
        {"service": "checkout", "version": "v2.13.2", "at": "2023-12-30T09:00:00Z"},
    ]
    fixtures = {"metrics.query_range": recorded["query_range"], "deploys.recent": history}
    event = {"name": "health/incident.opened", "data": recorded["event"]}
    result = run("incident-triage", event, fixtures=fixtures, faults=NO_LLM)
    out = result.return_value
    assert out["actions"][0] == "Roll checkout back to v2.13.2 (the version before v2.15.0)"
    deploys = [f for f in out["facts"] if f["kind"] == "deploy"]
    assert "2023-12-30T09:00:00Z" not in [f["at"] for f in deploys]  # outside the window
    [call, *_] = [c for c in result.capability_calls if c.method == "recent"]
    assert call.args["hours"] == 7 * 24


def test_without_an_earlier_deploy_the_rollback_says_so() -> None:
    recorded = snapshot("triage_error_burst")
    history = [recorded["deploys"][0]]
    fixtures = {"metrics.query_range": recorded["query_range"], "deploys.recent": history}
    event = {"name": "health/incident.opened", "data": recorded["event"]}
    out = run("incident-triage", event, fixtures=fixtures, faults=NO_LLM).return_value
    assert out["actions"][0].startswith("Roll checkout back to the version before v2.15.0 (none")


def test_the_summary_goes_to_the_incidents_thread() -> None:
    result = triage("triage_error_burst", faults=NO_LLM)
    incident = snapshot("triage_error_burst")["event"]["incident_id"]
    announce, summary = posts(result)
    assert [announce["step"], summary["step"]] == ["announce", "post-summary"]
    assert {announce["channel"], summary["channel"]} == {"slack"}
    assert announce["thread"] == summary["thread"] == incident
    assert announce["text"].startswith("[critical] checkout: error rate 30.2%")
    text = summary["text"]
    assert text.startswith(f"[critical] checkout: suspected cause deploy (incident {incident})")
    for part in ["Evidence (triage: 2-min rates every 30 s", "Recommended actions:"]:
        assert part in text
    assert text.endswith("Hypothesis by: rules (LLM unavailable: injected fault for llm.complete)")


def test_the_summary_quotes_the_alerts_figures_for_the_alerts_window() -> None:
    """health-check's figures (5-min rates, last minutes vs. baseline) and triage's finer ones
    differ; the summary quotes the alert's as the alert's and labels its own."""
    fixtures = {"metrics.query_range": snapshot("critical_error_burst")["query_range"]}
    check = run("health-check", fixtures=fixtures, faults=NO_LLM)
    [sent] = [e for s in check.steps if s.op == "send_event" for e in s.detail["events"]]
    alert = sent["data"]
    assert alert["signals"] == ["error_rate"]
    assert alert["window"] == {"rate_seconds": 300, "recent_seconds": 180, "baseline_minutes": 360}
    recorded = snapshot("triage_error_burst")
    fixtures = {
        "metrics.query_range": recorded["query_range"],
        "deploys.recent": recorded["deploys"],
    }
    event = {"name": "health/incident.opened", "data": alert}
    result = run("incident-triage", event, fixtures=fixtures, faults=NO_LLM)
    announce, summary = (p["text"] for p in posts(result))
    now = alert["features"]["error_rate"]["now"]
    base = alert["features"]["error_rate"]["baseline"]
    figure = f"error_rate {now:.1%} (baseline {base:.1%})"
    quoted = f"Alert: {alert['reason']} - {figure} (health-check: 5-min rates, last 180 s vs the 360 min before)"
    assert quoted in summary.splitlines()
    assert alert["reason"] in announce  # the same figures as the announcement
    assert f"{now:.1%}" in alert["reason"]


def test_no_llm_configured_is_said_briefly_and_the_how_to_left_to_the_platform() -> None:
    """How to configure an LLM is the platform's hint, posted at most once a day."""
    missing = "LLMUnavailable: no LLM is configured: set LOOPWRIGHT_LLM_BASE_URL (any …)"
    result = triage("triage_error_burst", faults={"llm": missing})
    summary = posts(result)[-1]
    assert summary["text"].endswith("Hypothesis by: rules (LLM unavailable: no LLM is configured)")
    assert "LOOPWRIGHT_LLM_BASE_URL" not in summary["text"]
    [call] = [c for c in result.capability_calls if c.method == "post" and "hint" in c.args]
    assert call.args["hint"] == "llm-not-configured"
    other = triage("triage_error_burst", faults=NO_LLM)  # down, not unconfigured: no hint
    assert not [c for c in other.capability_calls if "hint" in c.args]


def test_the_llm_hypothesis_is_used_with_the_evidence_it_cites() -> None:
    answer = {
        "cause": "deploy",
        "hypothesis": "The retry policy in v2.15.0 amplifies upstream failures.",
        "evidence": ["E2", "E6", "E99"],
        "actions": ["Roll back to v2.14.0", "Disable the new retry policy flag"],
    }
    result = triage("triage_error_burst", llm={"text": json.dumps(answer), "usd": 0.01})
    out = result.return_value
    assert out["decided_by"] == "llm" and out["fallback"] is False
    assert out["evidence"] == ["E2", "E6"]
    assert out["actions"] == answer["actions"]
    [call] = [c for c in result.capability_calls if c.method == "complete"]
    prompt = call.args["prompt"]
    assert "Incident checkout-20240101T1150Z" in prompt and "E6 deploy checkout v2.15.0" in prompt
    summary = posts(result)[-1]["text"]
    # the summary shows what was cited, numbered E1, E2 without gaps
    assert "- E2 deploy checkout v2.15.0" in summary and "- E6 " not in summary
    assert "- E1 error_rate" in summary
    assert [line[:4] for line in summary.splitlines() if line.startswith("- E")] == ["- E1", "- E2"]


def test_references_in_the_summary_follow_the_renumbering() -> None:
    answer = {
        "cause": "deploy",
        "hypothesis": "E6 (v2.15.0) came 3 min before the errors in E2.",
        "evidence": ["E2", "E6"],
        "actions": ["Roll back the deploy in E6"],
    }
    result = triage("triage_error_burst", llm={"text": json.dumps(answer), "usd": 0.01})
    summary = posts(result)[-1]["text"]
    assert "E2 (v2.15.0) came 3 min before the errors in E1." in summary
    assert "- Roll back the deploy in E2" in summary
    assert result.return_value["evidence"] == ["E2", "E6"]  # the run keeps the facts' own ids
    assert summary.endswith("Hypothesis by: LLM")


@pytest.mark.parametrize(
    ("llm", "faults", "error"),
    [
        ({"text": "I think it is the deploy.", "usd": 0.01}, None, "not usable JSON"),
        (None, {"llm.complete": "LLMTimeout"}, "LLM unavailable"),
        (None, {"llm.complete": "LLMBudgetExceeded"}, "LLM unavailable"),
    ],
)
def test_llm_trouble_falls_back_to_rules(
    llm: dict[str, Any] | None, faults: dict[str, str] | None, error: str
) -> None:
    out = triage("triage_memory_leak", llm=llm, faults=faults).return_value
    assert out["cause"] == "capacity"
    assert out["fallback"] is True and error in out["llm_error"]


def test_metrics_api_down_backs_off_after_announcing() -> None:
    result = triage("triage_error_burst", faults={"metrics": "MetricsUnavailable"})
    assert result.error is not None and result.error.type == "RetryAfterError"
    assert [(s.id, s.error) for s in result.steps] == [
        ("announce", None),
        ("fetch-metrics", "run failed"),
    ]
    assert [p["step"] for p in posts(result)] == ["announce"]


def test_deploy_history_down_is_noted_not_fatal() -> None:
    out = triage("triage_error_burst", faults={"deploys": "DeploysUnavailable", **NO_LLM})
    assert out.ok
    value = out.return_value
    assert value["cause"] == "errors"  # no deploy evidence left to blame
    assert [p.split(":")[0] for p in value["deploy_problems"]] == ["log", "events"]


@pytest.mark.parametrize(
    "data",
    [
        {"incident_id": "x-1", "service": 'checkout"} or vector(1) or {a="'},
        {"service": "checkout"},
    ],
)
def test_a_malformed_incident_fails_without_retries(data: dict[str, Any]) -> None:
    result = run("incident-triage", {"name": "health/incident.opened", "data": data})
    assert result.error is not None and result.error.type == "NonRetriableError"
    assert result.steps == []


def test_giving_up_is_told_in_the_incidents_thread() -> None:
    report = validate_source(
        source("incident-triage"),
        filename("incident-triage"),
        existing_function_ids=others("incident-triage"),
    )
    [failure] = [r for r in report.dry_runs if r.fn_id == "incident-triage:on_failure"]
    assert failure.ok
    [post] = posts(failure)
    assert post["thread"] == "checkout-20240101T0000Z"  # the manifest example's incident
    assert "gave up after retries: dry run failure" in post["text"]
    assert failure.return_value["gave_up"] is True


def test_dedupe_keys_are_per_run_step_and_call_and_stable_across_replays() -> None:
    first = posts(triage("triage_error_burst", faults=NO_LLM))
    again = posts(triage("triage_error_burst", faults=NO_LLM, fresh=True))
    keys = [p["dedupe_key"] for p in first]
    assert keys == [p["dedupe_key"] for p in again]
    assert len(set(keys)) == 2
    assert keys[0].endswith(":announce:notify.post:0")
    assert keys[1].endswith(":post-summary:notify.post:0")


def manifest_grant() -> Grant:
    for node in ast.parse(source("incident-triage")).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MANIFEST":
            manifest = ast.literal_eval(node.value)
            return Grant.from_manifest(manifest["id"], manifest["capabilities"])
    raise AssertionError("no MANIFEST")


def test_one_incident_is_one_slack_thread_even_when_everything_is_replayed(
    tmp_path: Path,
) -> None:
    """Replay every post of a run (a crash after each one, then the retry) into the real
    notify capability: Slack gets each message once, all in the incident's thread."""
    run_posts = posts(triage("triage_error_burst", faults=NO_LLM))
    failure = posts(triage("triage_error_burst", faults={"metrics": "MetricsUnavailable"}))
    grant = manifest_grant()
    with ScriptedSlack() as slack:
        channels = {"inbox": InboxChannel(), "slack": slack.api_channel()}
        settings = CapabilitySettings(
            db_path=tmp_path / "capabilities.db", notify=NotifySettings(channels=channels)
        )
        store = CapabilityStore(settings.db_path)
        notify = NotifyService(settings, store)
        try:
            for attempt in range(2):
                for p in run_posts:
                    request = PostRequest(
                        channel=p["channel"],
                        text=p["text"],
                        thread_key=p["thread"],
                        dedupe_key=p["dedupe_key"],
                    )
                    result = notify.post(grant, request)
                    assert result.duplicate is (attempt == 1)
            gave_up = PostRequest(
                channel="slack",
                text="Triage gave up",
                thread_key=failure[0]["thread"],
                dedupe_key="failure-run:tell-channel:notify.post:0",
            )
            notify.post(grant, gave_up)
        finally:
            notify.close()
            store.close()
        root, *replies = slack.messages
        assert len(slack.messages) == 3
        assert root.thread_ts is None
        assert [m.thread_ts for m in replies] == [root.ts, root.ts]
