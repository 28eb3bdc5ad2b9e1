"""Scraping /metrics without a Prometheus server, and local host resources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skills_core.capabilities import MetricsQueryInvalid, MetricsService
from skills_core.capabilities.settings import HostSource, ScrapeSource
from skills_core.demo import Fleet

from .factories import grant, make_settings

DEMO = grant(metrics={"sources": ["demo", "host"]})


@pytest.fixture
def metrics(fleet: Fleet, tmp_path: Path) -> Iterator[MetricsService]:
    sources = {"demo": ScrapeSource(targets=fleet.targets), "host": HostSource()}
    service = MetricsService(make_settings(tmp_path, metrics=sources))
    yield service
    service.close()


def test_selector_with_regex_matcher(metrics: MetricsService) -> None:
    samples = metrics.query(DEMO, 'http_requests_total{service="checkout",status=~"5.."}')
    assert {s.labels["status"] for s in samples} == {"500", "503"}
    assert all(s.labels["job"] == "demo" and s.labels["instance"] == "checkout" for s in samples)


def test_negative_matchers_and_name_free_selector(metrics: MetricsService) -> None:
    samples = metrics.query(DEMO, '{__name__="service_build_info",service!="search"}')
    assert {s.labels["service"] for s in samples} == {"checkout", "payments"}
    assert all(s.value == 1 for s in samples)


def test_histogram_buckets_are_exposed(metrics: MetricsService) -> None:
    buckets = metrics.query(DEMO, 'http_request_duration_seconds_bucket{service="search"}')
    assert "+Inf" in {s.labels["le"] for s in buckets}


def test_scrape_returns_every_sample_and_up(metrics: MetricsService) -> None:
    samples = metrics.scrape(DEMO, source="demo")
    names = {s.labels["__name__"] for s in samples}
    assert {"up", "http_requests_total", "loopwright_demo_simulated"} <= names


@pytest.mark.parametrize(
    "promql",
    [
        "rate(http_requests_total[1m])",
        "histogram_quantile(0.95, http_request_duration_seconds_bucket)",
        "http_requests_total[5m]",
    ],
)
def test_expressions_needing_history_say_to_use_prometheus(
    metrics: MetricsService, promql: str
) -> None:
    with pytest.raises(MetricsQueryInvalid, match="need a Prometheus source"):
        metrics.query(DEMO, promql)


def test_range_queries_need_prometheus(metrics: MetricsService) -> None:
    with pytest.raises(MetricsQueryInvalid, match="keeps no history"):
        metrics.query_range(DEMO, "up")


def test_malformed_selector(metrics: MetricsService) -> None:
    with pytest.raises(MetricsQueryInvalid, match="not valid PromQL"):
        metrics.query(DEMO, 'http_requests_total{service="checkout"')
    with pytest.raises(MetricsQueryInvalid, match="regex"):
        metrics.query(DEMO, 'up{instance=~"("}')


def test_host_resources_are_percentages(metrics: MetricsService) -> None:
    host = metrics.host(DEMO)
    for value in (host.cpu_percent, host.memory_percent, host.disk_percent):
        assert 0 <= value <= 100
    assert set(host.model_dump()) == {"cpu_percent", "memory_percent", "disk_percent"}


def test_each_kind_refuses_what_it_cannot_answer(metrics: MetricsService) -> None:
    with pytest.raises(MetricsQueryInvalid, match="call host"):
        metrics.query(DEMO, "up", source="host")
    with pytest.raises(MetricsQueryInvalid, match="not a host source"):
        metrics.host(DEMO, source="demo")
