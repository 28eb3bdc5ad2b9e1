"""The SIMULATED fleet serves real exposition output with plausible baselines."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from skills_core.demo import Fleet

from .readings import Closing, scraper, total, values, window


def test_each_service_exposes_the_documented_families(fleet: Fleet) -> None:
    for name, url in fleet.targets.items():
        families = {f.name: f for f in text_string_to_metric_families(httpx.get(url).text)}
        assert {
            "http_requests",
            "http_request_duration_seconds",
            "service_cpu_utilization_ratio",
            "service_memory_usage_bytes",
            "service_memory_limit_bytes",
            "service_build_info",
            "loopwright_demo_simulated",
        } <= set(families)
        assert "SIMULATED" in families["http_requests"].documentation
        assert families["loopwright_demo_simulated"].samples[0].labels == {"service": name}


def test_baselines_are_plausible(closing: Closing, fleet: Fleet, tmp_path: Path) -> None:
    metrics = scraper(closing, fleet, tmp_path)
    served = window(
        metrics,
        2.0,
        'http_requests_total{service="search"}',
        'http_requests_total{service="checkout"}',
        'http_requests_total{service="payments"}',
    )
    search, checkout, payments = (n / 2.0 for n in served)
    # Means of 120, 40 and 15 rps, give or take the daily rhythm (±20%) and noise.
    assert 70 < search < 170 and 20 < checkout < 60 and 5 < payments < 25
    errors = total(metrics, 'http_requests_total{status=~"5.."}')
    assert errors / total(metrics, "http_requests_total") < 0.05
    cpu = values(metrics, "service_cpu_utilization_ratio")
    assert all(0 < s.value < 0.8 for s in cpu if s.value is not None)


def test_status_says_it_is_simulated(fleet: Fleet) -> None:
    status = fleet.status()
    assert status["simulated"] is True and "SIMULATED" in status["note"]
    assert [s["name"] for s in status["services"]] == ["checkout", "search", "payments"]
    assert all(s["incidents"] == [] for s in status["services"])


def test_fresh_deploy_log_is_seeded_with_history(fleet: Fleet) -> None:
    lines = fleet.deploy_log.path.read_text().splitlines()
    assert len(lines) == 6 and all('"service"' in line for line in lines)
