"""The metrics capability against a real Prometheus (Debian's 2.42) scraping the demo fleet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skills_core.capabilities import (
    CapabilityDenied,
    CapabilityNotConfigured,
    CapabilityStore,
    DeploysService,
    MetricsQueryInvalid,
    MetricsService,
    Sample,
)
from skills_core.capabilities.settings import JsonlDeploySource, PrometheusSource
from skills_core.demo import Fleet, IncidentKind, PrometheusServer

from .factories import grant, make_settings

GRANT = grant(metrics={"sources": ["prometheus"]})
P95 = (
    "histogram_quantile(0.95, sum by (service, le) "
    '(rate(http_request_duration_seconds_bucket{{service="{service}"}}[{window}])))'
)
ERROR_RATIO = (
    'sum(rate(http_requests_total{{service="{service}",status=~"5.."}}[{window}])) / '
    'sum(rate(http_requests_total{{service="{service}"}}[{window}]))'
)


@pytest.fixture
def metrics(prometheus: PrometheusServer, tmp_path: Path) -> Iterator[MetricsService]:
    settings = make_settings(tmp_path, metrics={"prometheus": PrometheusSource(url=prometheus.url)})
    service = MetricsService(settings)
    yield service
    service.close()


@pytest.fixture
def calm_fleet(fleet: Fleet) -> Iterator[Fleet]:
    yield fleet
    fleet.clear()


def by_service(samples: list[Sample]) -> dict[str, float]:
    return {s.labels["service"]: s.value for s in samples if s.value is not None}


def wait_for(
    read: Callable[[], float | None], ok: Callable[[float], bool], timeout: float = 12
) -> float:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = read()
        if value is not None and ok(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout}s; last value {value}")


def test_up_is_one_for_every_fleet_target(metrics: MetricsService, fleet: Fleet) -> None:
    samples = metrics.query(GRANT, 'up{job="demo-fleet"}')
    assert len(samples) == len(fleet.targets)
    assert {s.value for s in samples} == {1.0}


def test_rate_follows_each_services_traffic(metrics: MetricsService) -> None:
    # irate: the last two scrapes, exact per second even for a series seconds old (rate()
    # over a window the series does not fill yet would not extrapolate to the whole window).
    rates = by_service(metrics.query(GRANT, "sum by (service) (irate(http_requests_total[5s]))"))
    # Baselines are 120 (search), 40 (checkout) and 15 (payments) requests per second.
    assert rates["search"] > rates["checkout"] > rates["payments"] > 5


def test_histogram_quantile_gives_latency_percentiles(metrics: MetricsService) -> None:
    fast = metrics.query(GRANT, P95.format(service="search", window="10s"))[0].value
    slow = metrics.query(GRANT, P95.format(service="payments", window="10s"))[0].value
    assert fast is not None and slow is not None
    assert 0.02 < fast < slow < 1.0


def test_query_range_returns_points_over_time(metrics: MetricsService) -> None:
    series = metrics.query_range(GRANT, 'up{job="demo-fleet"}', minutes=0.25, step_seconds=1)
    assert len(series) == 3
    assert all(len(s.values) >= 3 and {v for _, v in s.values} == {1.0} for s in series)
    timestamps = [ts for ts, _ in series[0].values]
    assert timestamps == sorted(timestamps)


def test_no_data_is_none_not_nan(metrics: MetricsService) -> None:
    samples = metrics.query(GRANT, P95.format(service="no-such-service", window="10s"))
    assert samples == []
    nan = metrics.query(GRANT, "0/0")
    assert nan[0].value is None


def test_malformed_promql_is_invalid_not_retriable(metrics: MetricsService) -> None:
    with pytest.raises(MetricsQueryInvalid) as caught:
        metrics.query(GRANT, "rate(http_requests_total[5s]")
    assert not caught.value.retriable
    assert caught.value.to_wire()["code"] == "metrics-query-invalid"


def test_source_outside_the_grant_is_denied(metrics: MetricsService) -> None:
    with pytest.raises(CapabilityDenied, match="not granted"):
        metrics.query(GRANT, "up", source="host")
    with pytest.raises(CapabilityDenied):
        metrics.query(grant(), "up")


def test_granted_but_unconfigured_source(metrics: MetricsService) -> None:
    with pytest.raises(CapabilityNotConfigured, match="LOOPWRIGHT_PROMETHEUS_URL"):
        metrics.query(grant(metrics={"sources": ["elsewhere"]}), "up")


def test_latency_spike_shows_in_p95(metrics: MetricsService, calm_fleet: Fleet) -> None:
    query = P95.format(service="checkout", window="3s")
    before = metrics.query(GRANT, query)[0].value
    assert before is not None
    calm_fleet.inject(IncidentKind.LATENCY_SPIKE, "checkout", ramp_s=0)
    after = wait_for(lambda: metrics.query(GRANT, query)[0].value, lambda v: v > 3 * before)
    assert after > 3 * before


def test_error_burst_after_deploy_shows_in_rates_and_deploys(
    metrics: MetricsService, calm_fleet: Fleet, tmp_path: Path, sqlite_store: CapabilityStore
) -> None:
    query = ERROR_RATIO.format(service="payments", window="3s")
    assert (metrics.query(GRANT, query)[0].value or 0) < 0.1
    started = time.time()
    calm_fleet.inject(IncidentKind.ERROR_BURST_AFTER_DEPLOY, "payments", onset_s=0)
    ratio = wait_for(lambda: metrics.query(GRANT, query)[0].value, lambda v: v > 0.15)
    assert ratio > 0.15
    settings = make_settings(
        tmp_path, deploys={"log": JsonlDeploySource(path=calm_fleet.deploy_log.path)}
    )
    deploys = DeploysService(settings, sqlite_store)
    recent = deploys.recent(grant(deploys={"sources": ["log"]}), service="payments", hours=1)
    assert recent and recent[0].at.timestamp() >= started - 1
    assert recent[0].version == calm_fleet.services["payments"].version
