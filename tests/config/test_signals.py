"""The health check's signals come from the configuration, set by the platform at load time."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import pytest

from loopwright.config import core_constants, load_config
from sidecar.core import read_core_skills
from sidecar.validation import validate_source
from skills_core.classify import CORE_SKILLS_DIR

FLEET = {
    "LOOPWRIGHT_SERVICE_LABEL": "job",
    "LOOPWRIGHT_SIGNAL_REQUESTS": 'api_requests_total{env="prod"}',
    "LOOPWRIGHT_SIGNAL_ERRORS": 'code=~"5.."',
    "LOOPWRIGHT_SIGNAL_LATENCY_HISTOGRAM": "api_latency_seconds",
    "LOOPWRIGHT_SIGNAL_CPU": "rate(process_cpu_seconds_total[5m]) / machine_cpu_cores",
    "LOOPWRIGHT_SIGNAL_MEMORY": "process_resident_memory_bytes / machine_memory_bytes",
    "LOOPWRIGHT_WATCH_SERVICES": "checkout,payments",
}


def test_the_default_configuration_leaves_the_core_skills_as_written() -> None:
    constants = core_constants(load_config(environ={}))
    for core in read_core_skills(CORE_SKILLS_DIR, constants=constants):
        assert core.source == (CORE_SKILLS_DIR / core.filename).read_text(encoding="utf-8")


def test_a_fleets_names_become_the_health_checks_signals() -> None:
    constants = core_constants(load_config(environ=FLEET))
    signals = constants["health-check"]["SIGNALS"]
    assert set(signals) == {"rps", "error_rate", "p95", "p99", "cpu", "memory"}
    for query in signals.values():
        promql_parser.parse(query)  # raises on malformed PromQL
        assert query.startswith("label_replace(") and '"service", "$1", "job"' in query
    assert 'api_requests_total{code=~"5..",env="prod"}' in signals["error_rate"]
    assert "api_latency_seconds_bucket" in signals["p95"]
    detail = constants["incident-triage"]["DETAIL_SIGNALS"]
    for query in detail.values():
        promql_parser.parse(query.replace("SERVICE", "checkout"))
    assert 'process_cpu_seconds_total{job="SERVICE"}' in detail["cpu"]
    assert 'machine_cpu_cores{job="SERVICE"}' in detail["cpu"]


@pytest.mark.slow
def test_the_configured_core_skills_still_validate(tmp_path: Path) -> None:
    constants = core_constants(load_config(environ=FLEET))
    cores = {c.skill_id: c for c in read_core_skills(CORE_SKILLS_DIR, constants=constants)}
    health = cores["health-check"]
    assert "WATCHED_SERVICES = ['checkout', 'payments']" in health.source
    assert "api_requests_total" in health.source
    for core in (health, cores["incident-triage"]):
        report = validate_source(core.source, core.filename)
        assert report.ok, report
