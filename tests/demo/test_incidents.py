"""Injected incidents visibly change what the fleet's /metrics endpoints report."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from skills_core.capabilities import DeploysService, Grant
from skills_core.capabilities.settings import CapabilitySettings, JsonlDeploySource
from skills_core.capabilities.store import CapabilityStore
from skills_core.demo import Fleet, IncidentKind, ScheduledIncident, UnknownService
from skills_core.demo.simulator import BUCKETS

from .readings import Closing, eventually, scraper, total, values, window

SLOW = f'http_request_duration_seconds_bucket{{service="checkout",le="{BUCKETS[5]}"}}'
ALL = 'http_request_duration_seconds_count{service="checkout"}'


def slow_share(closing: Closing, fleet: Fleet, tmp_path: Path) -> float:
    """Share of checkout requests over 250 ms in the next second."""
    metrics = scraper(closing, fleet, tmp_path)
    fast, count = window(metrics, 1.0, SLOW, ALL)
    return 1 - fast / count


def test_latency_spike_moves_requests_into_slow_buckets(
    closing: Closing, fleet: Fleet, tmp_path: Path
) -> None:
    before = slow_share(closing, fleet, tmp_path)
    fleet.inject(IncidentKind.LATENCY_SPIKE, "checkout", ramp_s=0)
    after = slow_share(closing, fleet, tmp_path)
    assert before < 0.1 and after > 0.6


def test_error_burst_after_deploy_writes_the_deploy_then_fails_requests(
    closing: Closing, fleet: Fleet, tmp_path: Path
) -> None:
    metrics = scraper(closing, fleet, tmp_path)
    incident = fleet.inject(IncidentKind.ERROR_BURST_AFTER_DEPLOY, "payments", onset_s=0)
    errors, served = window(
        metrics,
        1.5,
        'http_requests_total{service="payments",status=~"5.."}',
        'http_requests_total{service="payments"}',
    )
    assert errors / served > 0.15
    (build,) = values(metrics, 'service_build_info{service="payments"}')
    assert build.labels["version"] == "v1.9.5"
    store = CapabilityStore(tmp_path / "c.db")
    settings = CapabilitySettings(
        db_path=tmp_path / "c.db", deploys={"log": JsonlDeploySource(path=fleet.deploy_log.path)}
    )
    skill = Grant.from_manifest("t", {"deploys": {"sources": ["log"]}})
    latest = DeploysService(settings, store).recent(skill, service="payments", hours=1)[0]
    assert latest.version == "v1.9.5" and latest.author == "demo-bot"
    assert abs(latest.at.timestamp() - incident.started_at) < 1
    store.close()


def test_memory_leak_grows_memory_towards_the_limit(
    closing: Closing, fleet: Fleet, tmp_path: Path
) -> None:
    metrics = scraper(closing, fleet, tmp_path)
    query = 'service_memory_usage_bytes{service="search"}'
    limit = total(metrics, 'service_memory_limit_bytes{service="search"}')
    start = total(metrics, query)
    fleet.inject(IncidentKind.MEMORY_LEAK, "search", ramp_s=1)
    eventually(lambda: total(metrics, query) > 0.85 * limit)
    assert start < 0.4 * limit


def test_incidents_end_after_their_duration_or_when_cleared(fleet: Fleet) -> None:
    fleet.inject(IncidentKind.LATENCY_SPIKE, "search", duration_s=0.5)
    fleet.inject(IncidentKind.MEMORY_LEAK, "checkout")

    def active(name: str) -> list[object]:
        return next(s["incidents"] for s in fleet.status()["services"] if s["name"] == name)

    assert active("search") and active("checkout")
    eventually(lambda: not active("search"))
    assert fleet.clear("checkout") == 1 and not active("checkout")


def test_unknown_service_is_refused(fleet: Fleet) -> None:
    with pytest.raises(UnknownService, match="has \\['checkout', 'payments', 'search'\\]"):
        fleet.inject(IncidentKind.LATENCY_SPIKE, "billing")


def test_scheduled_overnight_spike_fires(tmp_path: Path) -> None:
    soon = (datetime.datetime.now() + datetime.timedelta(seconds=1)).time()
    nightly = ScheduledIncident(at=soon, service="payments", duration_s=60)
    with Fleet(deploy_log=tmp_path / "d.jsonl", control_port=None, schedule=(nightly,)) as fleet:
        eventually(lambda: bool(fleet.services["payments"].status()["incidents"]), timeout=4)
        (incident,) = fleet.services["payments"].status()["incidents"]
        assert incident["kind"] == "latency-spike"


def test_next_occurrence_is_today_or_tomorrow() -> None:
    spike = ScheduledIncident(at=datetime.time(2, 0))
    evening = datetime.datetime(2024, 5, 1, 23, 0)
    assert spike.seconds_until_next(evening) == 3 * 3600
    assert spike.seconds_until_next(evening.replace(hour=1)) == 3600
