"""Outages of a metrics backend become MetricsUnavailable with a retry hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills_core.capabilities import MetricsQueryInvalid, MetricsService, MetricsUnavailable
from skills_core.capabilities.settings import PrometheusSource, ScrapeSource
from skills_core.demo.prometheus import free_port

from .factories import Closing, grant, make_settings
from .scripted_http import Canned, ScriptedHttp

PROM = grant(metrics={"sources": ["prometheus"]})
SCRAPE = grant(metrics={"sources": ["scrape"]})
EXPOSITION = "# TYPE up_total counter\nwidgets_total 3\n"


def prometheus_at(
    closing: Closing, tmp_path: Path, url: str, timeout_s: float = 2.0
) -> MetricsService:
    source = PrometheusSource(url=url, timeout_s=timeout_s)
    return closing(MetricsService(make_settings(tmp_path, metrics={"prometheus": source})))


def test_503_with_retry_after_carries_the_servers_hint(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script(
        "/api/v1/query", Canned(status=503, body="down", headers={"Retry-After": "7"})
    )
    with pytest.raises(MetricsUnavailable) as caught:
        prometheus_at(closing, tmp_path, http_server.url).query(PROM, "up")
    assert caught.value.retriable and caught.value.retry_after == 7.0
    assert "HTTP 503" in caught.value.message


def test_5xx_without_retry_after_uses_the_default_hint(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script("/api/v1/query_range", Canned(status=502))
    with pytest.raises(MetricsUnavailable) as caught:
        prometheus_at(closing, tmp_path, http_server.url).query_range(PROM, "up", minutes=5)
    assert caught.value.retry_after == 10.0


def test_timeout_is_unavailable(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script("/api/v1/query", Canned(delay_s=1.0))
    with pytest.raises(MetricsUnavailable, match=r"did not answer within 0\.2s") as caught:
        prometheus_at(closing, tmp_path, http_server.url, timeout_s=0.2).query(PROM, "up")
    assert caught.value.retriable


def test_connection_refused_is_unavailable(closing: Closing, tmp_path: Path) -> None:
    with pytest.raises(MetricsUnavailable, match="unreachable"):
        prometheus_at(closing, tmp_path, f"http://127.0.0.1:{free_port()}").query(PROM, "up")


def test_prometheus_own_timeout_error_is_retriable(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    body = json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out"})
    http_server.script("/api/v1/query", Canned(status=200, body=body))
    with pytest.raises(MetricsUnavailable, match="query timed out"):
        prometheus_at(closing, tmp_path, http_server.url).query(PROM, "up")


def test_bad_data_is_invalid(closing: Closing, tmp_path: Path, http_server: ScriptedHttp) -> None:
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"})
    http_server.script("/api/v1/query", Canned(status=400, body=body))
    with pytest.raises(MetricsQueryInvalid, match="parse error"):
        prometheus_at(closing, tmp_path, http_server.url).query(PROM, "up")


@pytest.mark.parametrize(
    "data", [None, {"resultType": "vector", "result": [{"oops": 1}]}, {"resultType": "scalar"}]
)
def test_malformed_success_is_unavailable(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp, data: object
) -> None:
    body = json.dumps({"status": "success", "data": data})
    http_server.script("/api/v1/query", Canned(body=body))
    with pytest.raises(MetricsUnavailable, match="malformed"):
        prometheus_at(closing, tmp_path, http_server.url).query(PROM, "up")


def test_too_many_points_is_refused_before_asking(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    with pytest.raises(MetricsQueryInvalid, match="larger step"):
        prometheus_at(closing, tmp_path, http_server.url).query_range(
            PROM, "up", minutes=60 * 24, step_seconds=1
        )
    assert http_server.paths == []


def scrape_service(closing: Closing, tmp_path: Path, targets: dict[str, str]) -> MetricsService:
    source = ScrapeSource(targets=targets, timeout_s=0.3)
    return closing(MetricsService(make_settings(tmp_path, metrics={"scrape": source})))


def test_one_failing_target_is_a_partial_answer_with_up_zero(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script("/good", Canned(body=EXPOSITION))
    http_server.script("/bad", Canned(status=503))
    metrics = scrape_service(
        closing, tmp_path, {"good": f"{http_server.url}/good", "bad": f"{http_server.url}/bad"}
    )
    up = {s.labels["instance"]: s.value for s in metrics.query(SCRAPE, "up")}
    assert up == {"good": 1, "bad": 0}


def test_every_target_failing_is_unavailable(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script("/slow", Canned(delay_s=1.0, body=EXPOSITION))
    http_server.script("/down", Canned(status=503))
    metrics = scrape_service(
        closing, tmp_path, {"slow": f"{http_server.url}/slow", "down": f"{http_server.url}/down"}
    )
    with pytest.raises(MetricsUnavailable) as caught:
        metrics.query(SCRAPE, "widgets_total")
    assert "slow: no answer within 0.3s" in caught.value.message
    assert "down: HTTP 503" in caught.value.message
    assert caught.value.retry_after == 10.0
