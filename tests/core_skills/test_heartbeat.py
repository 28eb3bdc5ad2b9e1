"""heartbeat: every run records that the platform is alive; a missed one is detectable."""

from __future__ import annotations

import datetime

from skills_core.classify import heartbeat_missed

from .conftest import run

PLATFORM = [
    {"labels": {"instance": "sidecar", "kind": "core"}, "value": 3.0},
    {"labels": {"instance": "sidecar", "kind": "generated"}, "value": 4.0},
]


def test_a_beat_records_liveness_skills_and_host() -> None:
    result = run("heartbeat", fixtures={"metrics.query": PLATFORM})
    assert result.ok, result.error
    beat = result.return_value
    assert beat["alive"] is True and beat["run_id"]
    assert beat["skills_active"] == 7
    assert set(beat["host"]) == {"cpu_percent", "memory_percent", "disk_percent"}
    at = datetime.datetime.fromisoformat(beat["at"])
    overdue = datetime.datetime.fromisoformat(beat["overdue_after"])
    assert overdue - at == datetime.timedelta(minutes=65)
    [query] = [c for c in result.capability_calls if c.method == "query"]
    assert query.args == {"promql": "loopwright_skills_active", "source": "platform"}


def test_the_beat_still_happens_when_platform_metrics_are_missing() -> None:
    result = run("heartbeat", faults={"metrics.query": "MetricsUnavailable"})
    assert result.ok
    beat = result.return_value
    assert beat["alive"] is True and beat["skills_active"] is None
    assert beat["problem"].startswith("platform metrics unavailable")
    assert "cpu_percent" in beat["host"]


def test_host_metrics_missing_are_noted() -> None:
    beat = run("heartbeat", faults={"metrics.host": "MetricsUnavailable"}).return_value
    assert beat["host"]["problem"].startswith("host metrics unavailable")


def test_a_missed_heartbeat_is_detected_from_the_last_run() -> None:
    last = run("heartbeat").return_value
    at = datetime.datetime.fromisoformat(last["at"])
    assert not heartbeat_missed(last, at + datetime.timedelta(minutes=64))
    assert heartbeat_missed(last, at + datetime.timedelta(minutes=65))
    assert heartbeat_missed(None, at)  # no heartbeat run at all
