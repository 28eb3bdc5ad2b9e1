"""The core skills' queries against a real Prometheus (Debian's 2.42) scraping the demo fleet.

The snapshots the other tests use are synthetic; this proves the queries they stand for work
on the real thing: one query answers every (service, signal) pair with the labels the skills
read, and an injected bad deploy turns the health check's rules critical and the triage rules
to "deploy", with the deploy read from the fleet's real deploy log. Windows are shortened
(1 s steps over 2 minutes) so the test takes seconds, not hours.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skills_core.capabilities import CapabilityStore, DeploysService, Grant, MetricsService
from skills_core.capabilities.settings import (
    CapabilitySettings,
    JsonlDeploySource,
    PrometheusSource,
)
from skills_core.classify import load_rules
from skills_core.demo import Fleet, IncidentKind, PrometheusMissing, PrometheusServer

from .conftest import run

HC = load_rules("health-check")
TRIAGE = load_rules("incident-triage")
GRANT = Grant.from_manifest(
    "incident-triage",
    {"metrics": {"sources": ["prometheus"]}, "deploys": {"sources": ["log"]}},
)
SERVICES = {"checkout", "search", "payments"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    log = tmp_path_factory.mktemp("fleet") / "deploys.jsonl"
    with Fleet(deploy_log=log, seed=11, control_port=None) as running:
        yield running


@pytest.fixture(scope="module")
def settings(
    fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CapabilitySettings]:
    root = tmp_path_factory.mktemp("prometheus")
    server = PrometheusServer(fleet.targets, storage_dir=root)
    try:
        server.start()
    except PrometheusMissing as err:
        pytest.fail(str(err), pytrace=False)
    try:
        server.wait_for_scrapes(samples=3)
        yield CapabilitySettings(
            db_path=root / "capabilities.db",
            metrics={"prometheus": PrometheusSource(url=server.url)},
            deploys={"log": JsonlDeploySource(path=fleet.deploy_log.path)},
        )
    finally:
        server.stop()


@pytest.fixture
def metrics(settings: CapabilitySettings) -> Iterator[MetricsService]:
    service = MetricsService(settings)
    yield service
    service.close()


def answer(metrics: MetricsService, query: str) -> list[dict[str, Any]]:
    series = metrics.query_range(GRANT, query, minutes=2, step_seconds=1)
    return [s.model_dump(mode="json") for s in series]


def wait_for_rules(metrics: MetricsService, service: str, label: str, timeout: float = 25) -> Any:
    deadline = time.monotonic() + timeout
    verdict = None
    while time.monotonic() < deadline:
        features = HC.summarize(answer(metrics, HC.signals_query())).get(service)
        if features:
            verdict = HC.classify_rules(features)
            if verdict["label"] == label:
                return verdict
        time.sleep(0.5)
    raise AssertionError(f"{service} never became {label}: last verdict {verdict}")


def test_one_query_answers_every_service_and_signal(metrics: MetricsService) -> None:
    series = answer(metrics, HC.signals_query())
    pairs = {(s["labels"]["service"], s["labels"]["signal"]) for s in series}
    assert pairs >= {(svc, sig) for svc in SERVICES for sig in HC.SIGNALS}
    assert set(HC.summarize(series)) == SERVICES
    wait_for_rules(metrics, "checkout", "normal")


def test_a_live_answer_runs_through_the_sandboxed_skill(metrics: MetricsService) -> None:
    live = answer(metrics, HC.signals_query())
    result = run(
        "health-check", fixtures={"metrics.query_range": live}, faults={"llm": "LLMUnavailable"}
    )
    assert result.ok, result.error
    assert set(result.return_value["services"]) == SERVICES


def test_a_bad_deploy_is_critical_and_triage_blames_it(
    fleet: Fleet, settings: CapabilitySettings, metrics: MetricsService, tmp_path: Path
) -> None:
    fleet.inject(IncidentKind.ERROR_BURST_AFTER_DEPLOY, "checkout", onset_s=0.0)
    onset = time.time()
    try:
        verdict = wait_for_rules(metrics, "checkout", "critical")
        assert verdict["floor"] == "critical"
        assert any(b["signal"] == "error_rate" and b["hard"] for b in verdict["breaches"])
        signals = TRIAGE.around(answer(metrics, TRIAGE.detail_query("checkout")), onset)
        assert set(signals) == set(TRIAGE.DETAIL_SIGNALS)
        store = CapabilityStore(tmp_path / "deploys.db")
        try:
            found = DeploysService(settings, store).recent(GRANT, service="checkout", hours=6)
        finally:
            store.close()
        deploys = TRIAGE.unique_deploys([d.model_dump(mode="json") for d in found], onset)
        facts = TRIAGE.evidence(signals, deploys, onset)
        hypothesis = TRIAGE.rule_hypothesis("checkout", signals, facts, onset)
        assert hypothesis["cause"] == "deploy", (hypothesis, facts)
        assert fleet.services["checkout"].version in hypothesis["hypothesis"]
    finally:
        fleet.clear()
