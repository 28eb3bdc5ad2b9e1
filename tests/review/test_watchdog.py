"""Cron watchdog: a paused or silently failing cron skill raises an alert within two intervals."""

from __future__ import annotations

from typing import Any

from loopwright.ledger import RunRecord
from review.watchdog import check, expected_fires, grace_s
from review.watchdog_function import check_and_alert
from skills_core.capabilities.notify.inbox import read_inbox
from tests.review._history import START

CRON = "*/5 * * * *"
INTERVAL = 300.0


def _run(h: Any, at: float, status: str = "completed", skill: str = "heartbeat") -> None:
    h.seq += 1
    h.writer.record_run(
        RunRecord(
            run_id=f"hb-{h.seq}",
            app_id="loopwright-skills",
            event_name=None,
            event_id=None,
            function_id=skill,
            skill_id=skill,
            skill_version=1,
            trigger="cron",
            cron=CRON,
            status=status,
            started_at=at,
            ended_at=at + 1,
            duration_ms=40.0,
            error_message="boom" if status == "failed" else None,
        )
    )


def test_expected_fires_follow_the_schedule_and_its_time_zone() -> None:
    assert expected_fires(CRON, START, START + 900) == [START + 300, START + 600, START + 900]
    paris = expected_fires("TZ=Europe/Paris 0 6 * * 1", START - 86_400, START + 7 * 86_400)
    assert paris == [START - 3600, START + 7 * 86_400 - 3600]  # 06:00 Paris = 05:00 UTC
    assert grace_s(300) == 150 and grace_s(86_400) == 300


def test_paused_cron_skill_alerts_within_two_intervals_once(history: Any) -> None:
    for n in range(6):
        _run(history, START + n * INTERVAL + 2)  # fires at START .. START+25min, on time
    last_fire = START + 5 * INTERVAL
    missed_fire = last_fire + INTERVAL  # paused here: no more runs
    quiet = check_and_alert(history.ledger, history.caps_path, missed_fire + 60)
    assert quiet["findings"] == []  # still inside the grace
    alerted = check_and_alert(
        history.ledger, history.caps_path, missed_fire + grace_s(INTERVAL) + 1
    )
    assert missed_fire + grace_s(INTERVAL) + 1 <= missed_fire + 2 * INTERVAL
    [finding] = alerted["findings"]
    assert finding["kind"] == "missed" and finding["at"] == missed_fire
    again = check_and_alert(history.ledger, history.caps_path, missed_fire + grace_s(INTERVAL) + 30)
    assert again["messages"] == alerted["messages"]  # the same alert, not a second one
    texts = [m.text for m in read_inbox(history.caps_path)]
    assert len(texts) == 1 and "heartbeat did not run" in texts[0]


def test_silent_failures_and_late_fires_alert(history: Any) -> None:
    for n in range(4):
        _run(history, START + n * INTERVAL + 1, status="failed" if n else "completed")
    now = START + 3 * INTERVAL + 10
    kinds = {f.kind for f in check("heartbeat", CRON, history.ledger.runs(skill="heartbeat"), now)}
    assert kinds == {"failing"}
    _run(history, START + 4 * INTERVAL + 200)  # 200 s late, grace 150 s
    findings = check(
        "heartbeat", CRON, history.ledger.runs(skill="heartbeat"), START + 4 * INTERVAL + 260
    )
    assert [f.kind for f in findings] == ["late"]
