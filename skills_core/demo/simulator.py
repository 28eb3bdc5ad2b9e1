"""One SIMULATED service: synthetic traffic turned into real Prometheus metrics.

Every tick the simulator draws the requests that "arrived" since the last tick (Poisson-ish
around the profile's rate, with a daily rhythm and noise), gives each a status and a
log-normal latency bent by the active incidents, and records them in ``prometheus_client``
metrics — so what a scraper or a Prometheus server sees is ordinary exposition output:

* ``http_requests_total{service, status}`` — counter
* ``http_request_duration_seconds{service}`` — histogram
* ``service_cpu_utilization_ratio{service}``, ``service_memory_usage_bytes{service}``,
  ``service_memory_limit_bytes{service}`` — gauges
* ``service_build_info{service, version}`` — 1 for the running version
* ``loopwright_demo_simulated{service}`` — always 1: these numbers come from a simulator
"""

from __future__ import annotations

import math
import random
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .incidents import Effect, Incident
from .profiles import ServiceProfile

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Longest stretch simulated in one step; a longer gap (a stalled thread) is simulated in
#: several steps but never more than MAX_CATCH_UP_S in total, to keep a tick cheap.
STEP_S = 0.5
MAX_CATCH_UP_S = 30.0
#: Near the memory limit a service thrashes: from this share of the limit on, GC hurts.
THRASH_AT = 0.9
SIMULATED = "SIMULATED by the Loopwright demo fleet, not a real service"


class ServiceSimulator:
    def __init__(self, profile: ServiceProfile, rng: random.Random) -> None:
        self.profile = profile
        self.version = profile.version
        self.registry = CollectorRegistry()
        self._rng = rng
        self._lock = threading.Lock()
        self._incidents: list[Incident] = []
        self._last = time.time()
        self._now_rps = profile.rps
        self._now_error_rate = profile.error_rate
        self._now_latency_factor = 1.0
        self._now_memory = float(profile.memory_bytes)
        self._build_metrics()

    def _build_metrics(self) -> None:
        name, reg = self.profile.name, self.registry
        requests = Counter(
            "http_requests",
            f"HTTP requests served ({SIMULATED})",
            ["service", "status"],
            registry=reg,
        )
        self._status = {code: requests.labels(name, code) for code in ("200", "404", "500", "503")}
        self._latency = Histogram(
            "http_request_duration_seconds",
            f"Request latency ({SIMULATED})",
            ["service"],
            buckets=BUCKETS,
            registry=reg,
        ).labels(name)
        gauge = {
            key: Gauge(metric, f"{text} ({SIMULATED})", ["service"], registry=reg).labels(name)
            for key, metric, text in (
                ("cpu", "service_cpu_utilization_ratio", "CPU use as a share of the quota"),
                ("memory", "service_memory_usage_bytes", "Resident memory"),
                ("limit", "service_memory_limit_bytes", "Memory limit"),
                ("simulated", "loopwright_demo_simulated", "1: this service is simulated"),
            )
        }
        self._cpu, self._memory = gauge["cpu"], gauge["memory"]
        gauge["limit"].set(self.profile.memory_limit_bytes)
        gauge["simulated"].set(1)
        self._build = Gauge(
            "service_build_info",
            f"Running version ({SIMULATED})",
            ["service", "version"],
            registry=reg,
        )
        self._build.labels(name, self.version).set(1)
        self._memory.set(self.profile.memory_bytes)
        self._cpu.set(self.profile.cpu_ratio)

    # --- control ---------------------------------------------------------------------------

    def add_incident(self, incident: Incident) -> None:
        with self._lock:
            self._incidents.append(incident)

    def clear_incidents(self) -> int:
        with self._lock:
            count, self._incidents = len(self._incidents), []
            return count

    def deploy(self, version: str) -> None:
        with self._lock:
            self._build.remove(self.profile.name, self.version)
            self.version = version
            self._build.labels(self.profile.name, version).set(1)

    # --- simulation ------------------------------------------------------------------------

    def advance(self, now: float | None = None) -> None:
        """Simulate the traffic between the last call and ``now``."""
        now = time.time() if now is None else now
        with self._lock:
            start = max(self._last, now - MAX_CATCH_UP_S)
            self._incidents = [i for i in self._incidents if i.active(now)]
            while start < now:
                step = min(STEP_S, now - start)
                start += step
                self._step(start, step)
            self._last = now

    def _step(self, at: float, dt: float) -> None:
        p, rng = self.profile, self._rng
        effect = sum((i.effect(at) for i in self._incidents), Effect())
        load = _daily_rhythm(at) * max(0.5, rng.gauss(1.0, 0.05))
        memory = self._memory_bytes(at, effect)
        if memory > THRASH_AT * p.memory_limit_bytes:
            effect = effect + Effect(latency_factor=1.6, error_rate=0.03, cpu_ratio=0.15)
        error_rate = min(0.95, p.error_rate + effect.error_rate)
        mu = math.log(p.latency_median_s * effect.latency_factor)
        expected = p.rps * load * dt
        for _ in range(max(0, round(rng.gauss(expected, math.sqrt(expected))))):
            roll = rng.random()
            if roll < error_rate:
                status = "503" if roll < error_rate * 0.2 else "500"
            elif roll < error_rate + p.client_error_rate:
                status = "404"
            else:
                status = "200"
            self._status[status].inc()
            self._latency.observe(rng.lognormvariate(mu, p.latency_sigma))
        cpu = p.cpu_ratio * load + effect.cpu_ratio + rng.gauss(0, 0.02)
        self._cpu.set(min(1.0, max(0.01, cpu)))
        self._memory.set(memory)
        self._now_memory = memory
        self._now_rps, self._now_error_rate = p.rps * load, error_rate
        self._now_latency_factor = effect.latency_factor

    def _memory_bytes(self, at: float, effect: Effect) -> float:
        p = self.profile
        sawtooth = 0.04 * ((at % 45.0) / 45.0)  # heap grows, GC drops it every ~45 s
        used = p.memory_bytes * (1 + sawtooth) + effect.memory_fraction * p.memory_limit_bytes
        return min(used, 0.99 * p.memory_limit_bytes)

    def status(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            return {
                "name": self.profile.name,
                "version": self.version,
                "rps": round(self._now_rps, 2),
                "error_rate": round(self._now_error_rate, 4),
                "latency_p50_s": round(self.profile.latency_median_s * self._now_latency_factor, 4),
                "memory_bytes": int(self._now_memory),
                "memory_limit_bytes": self.profile.memory_limit_bytes,
                "incidents": [i.to_dict() for i in self._incidents if i.active(now)],
            }


def _daily_rhythm(at: float) -> float:
    """Traffic over the day: ±20% around the mean, busiest mid-afternoon local time."""
    local = time.localtime(at)
    hour = local.tm_hour + local.tm_min / 60
    return 1 + 0.2 * math.sin(2 * math.pi * (hour - 9) / 24)
