"""The sidecar's own Prometheus metrics, served at ``GET /metrics``.

The heartbeat reads ``loopwright_skills_active`` through the metrics source named
``platform`` (`loopwright up` points it here), and any Prometheus can scrape the rest:

    loopwright_skills_active                  skills with a live version, not paused
    loopwright_skills{state}                  skills by state (active, paused, removed, ...)
    loopwright_skill_runs_total{skill}        runs started (the version-pinning first step ran)
    loopwright_skill_failures_total{skill}    function calls that raised (one attempt each;
                                              the engine may retry them)
    loopwright_workers{state}                 worker processes idle / busy
    loopwright_workers_max                    the pool's limit

Skill and worker counts are read at scrape time, so they are never stale. Each sidecar has
its own registry (tests run several in one process).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .registry import Registry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SidecarMetrics:
    def __init__(self, registry: Registry, worker_stats: Callable[[], dict[str, int]]) -> None:
        self.prometheus = CollectorRegistry(auto_describe=True)
        self.runs = Counter(
            "loopwright_skill_runs", "Runs started, by skill.", ["skill"],
            registry=self.prometheus,
        )  # fmt: skip
        self.failures = Counter(
            "loopwright_skill_failures",
            "Function calls that raised, by skill (one attempt each; the engine may retry).",
            ["skill"],
            registry=self.prometheus,
        )
        self.prometheus.register(_StateCollector(registry, worker_stats))

    def run_started(self, skill_id: str) -> None:
        self.runs.labels(skill=skill_id).inc()

    def call_failed(self, skill_id: str) -> None:
        self.failures.labels(skill=skill_id).inc()

    def render(self) -> bytes:
        return generate_latest(self.prometheus)


class _StateCollector(Collector):
    def __init__(self, registry: Registry, worker_stats: Callable[[], dict[str, int]]) -> None:
        self.registry = registry
        self.worker_stats = worker_stats

    def collect(self) -> Iterator[Metric]:
        states: collections.Counter[str] = collections.Counter()
        for skill in self.registry.skills():
            if skill.removed:
                states["removed"] += 1
            elif skill.active_version is None:
                states["not_live"] += 1
            else:
                states["paused" if skill.paused else "active"] += 1
        active = GaugeMetricFamily(
            "loopwright_skills_active", "Skills with a live version, not paused."
        )
        active.add_metric([], states["active"])
        yield active
        by_state = GaugeMetricFamily("loopwright_skills", "Skills by state.", labels=["state"])
        for state in ("active", "paused", "not_live", "removed"):
            by_state.add_metric([state], states[state])
        yield by_state
        stats = self.worker_stats()
        workers = GaugeMetricFamily("loopwright_workers", "Worker processes.", labels=["state"])
        workers.add_metric(["idle"], stats["idle"])
        workers.add_metric(["busy"], stats["total"] - stats["idle"])
        yield workers
        limit = GaugeMetricFamily("loopwright_workers_max", "The worker pool's limit.")
        limit.add_metric([], stats["max"])
        yield limit
