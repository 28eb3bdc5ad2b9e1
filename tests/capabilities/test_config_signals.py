"""`loopwright config check` / doctor: each configured signal runs once on a real Prometheus."""

from __future__ import annotations

import time

from loopwright.config import config_checks
from skills_core.demo import PrometheusServer


def _checks(url: str, **env: str) -> dict[str, tuple[bool | None, str]]:
    environ = {"LOOPWRIGHT_PROMETHEUS_URL": url, **env}
    return {c.name: (c.ok, c.detail) for c in config_checks(environ=environ)}


def test_the_demo_fleets_signals_all_answer(prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + 60
    found = _checks(prometheus.url)
    while not all(ok for ok, _ in found.values()) and time.monotonic() < deadline:
        time.sleep(1)  # rates need two scrapes
        found = _checks(prometheus.url)
    assert found["config"][0] is True
    assert {n for n, (ok, _) in found.items() if not ok} == set(), found
    assert "checkout" in found["signal rps"][1]


def test_a_wrong_metric_name_is_reported_empty_with_the_key_to_fix(
    prometheus: PrometheusServer,
) -> None:
    found = {
        c.name: c
        for c in config_checks(
            environ={
                "LOOPWRIGHT_PROMETHEUS_URL": prometheus.url,
                "LOOPWRIGHT_SIGNAL_CPU": "node_cpu_that_does_not_exist",
            }
        )
    }
    assert found["signal cpu"].ok is False
    assert "no series" in found["signal cpu"].detail
    assert "signals.cpu" in found["signal cpu"].fix


def test_an_unreachable_prometheus_is_one_finding() -> None:
    found = _checks("http://127.0.0.1:9")
    assert found["prometheus"][0] is False and "unreachable" in found["prometheus"][1]
    assert not any(name.startswith("signal ") for name in found)
