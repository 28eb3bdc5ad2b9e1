"""cron-watchdog in the dry-run sandbox: the ledger capability's answers come from fixtures.

A heartbeat every 5 minutes (grace 150 s); the watchdog checks every minute, so each check
owns one minute of detections (fire + grace), after the previous completed check.
"""

from __future__ import annotations

from typing import Any

from sidecar.validation.outcomes import DryRunResult

from .conftest import run

T = 1_704_067_200.0  # 2024-01-01 00:00 UTC
INTERVAL = 300.0
GRACE = 150.0
CHECK_EVENT = "cron-watchdog/check.requested"


def schedule(state: str = "active", active_since: float = T - 86_400) -> dict[str, Any]:
    return {
        "skill_id": "heartbeat",
        "function_id": "heartbeat",
        "cron": "*/5 * * * *",
        "timezone": "UTC",
        "state": state,
        "active_since": active_since,
        "interval_seconds": INTERVAL,
    }


def beat(at: float, status: str = "completed", n: int = 0) -> dict[str, Any]:
    return {
        "run_id": f"hb-{at:.0f}-{n}",
        "function_id": "heartbeat",
        "trigger": "cron",
        "status": status,
        "started_at": at,
        "ended_at": at + 1,
        "error": "boom: metrics unreachable" if status == "failed" else None,
    }


def on_time(fires: int) -> list[dict[str, Any]]:
    """Runs 2 s after each fire at T, T+5min, ... (fires of them)."""
    return [beat(T + n * INTERVAL + 2) for n in range(fires)]


def check(
    now: float,
    runs: list[dict[str, Any]],
    *,
    sched: dict[str, Any] | None = None,
    previous: float | None = None,
) -> DryRunResult:
    """One check at ``now``; ``previous``: when the last completed check started."""
    mine = [] if previous is None else [{**beat(previous), "function_id": "cron-watchdog"}]
    result = run(
        "cron-watchdog",
        {"name": CHECK_EVENT, "data": {"now": now}},
        fixtures={
            "ledger.cron_skills": [sched or schedule()],
            "ledger.runs": {"heartbeat": runs, "cron-watchdog": mine},
        },
    )
    assert result.ok, result.error
    return result


def posts(result: DryRunResult) -> list[str]:
    return [str(c.args["text"]) for c in result.capability_calls if c.method == "post"]


def test_a_healthy_skill_raises_nothing() -> None:
    result = check(T + 6 * INTERVAL + 60, on_time(7))
    out = result.return_value
    assert out["findings"] == [] and posts(result) == []
    [decision] = out["decisions"]
    assert (decision["subject"], decision["label"]) == ("heartbeat", "normal")
    assert decision["features"]["grace_seconds"] == GRACE


def test_a_missed_fire_alerts_once_within_two_intervals() -> None:
    missed = T + 6 * INTERVAL  # six beats on time, then none
    inside_grace = check(missed + GRACE - 10, on_time(6))
    assert inside_grace.return_value["findings"] == []
    at = missed + GRACE + 30
    assert at - missed < 2 * INTERVAL
    result = check(at, on_time(6), previous=missed + GRACE - 10)
    [finding] = result.return_value["findings"]
    assert (finding["kind"], finding["at"]) == ("missed", missed)
    [text] = posts(result)
    assert text.startswith("cron watchdog: heartbeat did not run at 2024-01-01 00:30:00")
    [post] = [c for c in result.capability_calls if c.method == "post"]
    assert post.args["channel"] == "inbox" and post.args["thread"] == "watchdog:heartbeat"
    assert result.return_value["decisions"][0]["label"] == "missed"
    labelled = [(s.id, s.detail.get("label")) for s in result.steps if s.detail.get("label")]
    assert labelled == [("read-history", "heartbeat"), ("alert", "heartbeat")]


def test_the_next_ticks_do_not_alert_the_same_gap_again() -> None:
    missed = T + 6 * INTERVAL
    first = missed + GRACE + 30
    for later in (first + 60, first + INTERVAL, first + 4 * INTERVAL):  # the gap goes on
        result = check(later, on_time(6), previous=later - 60)
        assert result.return_value["findings"] == [], later
        assert posts(result) == []
        assert result.return_value["decisions"][0]["label"] == "missed"  # still said


def test_a_check_after_a_watchdog_outage_catches_up_once() -> None:
    missed = T + 6 * INTERVAL
    result = check(missed + 3 * INTERVAL, on_time(6), previous=missed - 60)
    assert [f["at"] for f in result.return_value["findings"]] == [missed]  # one gap, one alert


def test_a_paused_skill_alerts_once_and_says_it_is_paused() -> None:
    missed = T + 6 * INTERVAL
    result = check(missed + GRACE + 30, on_time(6), sched=schedule("paused"))
    [finding] = result.return_value["findings"]
    assert finding["kind"] == "paused"
    assert "heartbeat is paused" in posts(result)[0]
    again = check(missed + GRACE + 90, on_time(6), sched=schedule("paused"))
    assert again.return_value["findings"] == []


def test_a_late_run_alerts_as_late() -> None:
    late_fire = T + 6 * INTERVAL
    runs = [*on_time(6), beat(late_fire + GRACE + 20)]
    result = check(late_fire + GRACE + 50, runs)
    [finding] = result.return_value["findings"]
    assert (finding["kind"], finding["at"]) == ("late", late_fire)
    assert "started more than 150 s after" in posts(result)[0]


def test_silent_failures_alert_once_when_the_streak_reaches_three() -> None:
    runs = [beat(T + n * INTERVAL + 2, "failed" if n >= 3 else "completed") for n in range(6)]
    third_failure_end = T + 5 * INTERVAL + 3
    result = check(third_failure_end + 60, runs)  # the next minute owns the detection
    [finding] = result.return_value["findings"]
    assert (finding["kind"], finding["at"]) == ("failing", T + 3 * INTERVAL + 2)
    assert "failed its last 3 runs" in posts(result)[0] and "boom" in posts(result)[0]
    assert result.return_value["decisions"][0]["label"] == "failing"
    more = [*runs, beat(T + 6 * INTERVAL + 2, "failed")]  # a fourth failure: same streak
    later = check(T + 6 * INTERVAL + 60, more, previous=third_failure_end + 60)
    assert later.return_value["findings"] == []


def test_fires_before_the_skill_went_live_are_not_expected() -> None:
    new = schedule(active_since=T + 6 * INTERVAL + 10)
    result = check(T + 7 * INTERVAL + GRACE + 30, [beat(T + 7 * INTERVAL + 2)], sched=new)
    assert result.return_value["findings"] == []


def test_a_new_skill_that_never_ran_alerts_at_its_first_fire() -> None:
    new = schedule(active_since=T + 6 * INTERVAL + 10)
    result = check(T + 7 * INTERVAL + GRACE + 30, [], sched=new)
    [finding] = result.return_value["findings"]
    assert (finding["kind"], finding["at"]) == ("missed", T + 7 * INTERVAL)


def test_a_ledger_error_is_recorded_and_the_check_goes_on() -> None:
    result = run(
        "cron-watchdog",
        {"name": CHECK_EVENT, "data": {"now": T}},
        fixtures={"ledger.cron_skills": [schedule()]},
        faults={"ledger.fires": "CapabilityRefused: ledger: the window is too wide"},
    )
    assert result.ok, result.error
    [decision] = result.return_value["decisions"]
    assert "too wide" in decision["detail"]["error"]
    assert result.return_value["findings"] == []
