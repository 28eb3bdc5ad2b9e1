"""The incidents the demo fleet can play, and how each bends a service's signals over time.

* ``latency-spike`` — latency climbs about eightfold over ``ramp_s`` (a slow dependency),
  CPU rises, a few requests time out;
* ``error-burst-after-deploy`` — a deploy is written to the deploy log, then after
  ``onset_s`` about 30% of requests fail: the classic "bad release" triage should pin on it;
* ``memory-leak`` — resident memory grows towards the limit over ``ramp_s``; near the limit
  the service thrashes (the simulator adds GC latency and errors there).

An incident ends by itself after ``duration_s`` or when cleared.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class IncidentKind(enum.StrEnum):
    LATENCY_SPIKE = "latency-spike"
    ERROR_BURST_AFTER_DEPLOY = "error-burst-after-deploy"
    MEMORY_LEAK = "memory-leak"


#: (duration_s, ramp_s, onset_s) when the caller does not say.
DEFAULT_TIMING: dict[IncidentKind, tuple[float, float, float]] = {
    IncidentKind.LATENCY_SPIKE: (900.0, 10.0, 0.0),
    IncidentKind.ERROR_BURST_AFTER_DEPLOY: (900.0, 0.0, 5.0),
    IncidentKind.MEMORY_LEAK: (1800.0, 600.0, 0.0),
}


@dataclasses.dataclass(frozen=True)
class Effect:
    """How far a service is pushed away from its baseline at one instant."""

    latency_factor: float = 1.0
    error_rate: float = 0.0
    cpu_ratio: float = 0.0
    memory_fraction: float = 0.0

    def __add__(self, other: Effect) -> Effect:
        return Effect(
            latency_factor=self.latency_factor * other.latency_factor,
            error_rate=self.error_rate + other.error_rate,
            cpu_ratio=self.cpu_ratio + other.cpu_ratio,
            memory_fraction=self.memory_fraction + other.memory_fraction,
        )


@dataclasses.dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    service: str
    started_at: float
    duration_s: float
    ramp_s: float
    onset_s: float

    @classmethod
    def create(
        cls,
        kind: IncidentKind,
        service: str,
        now: float,
        *,
        duration_s: float | None = None,
        ramp_s: float | None = None,
        onset_s: float | None = None,
    ) -> Incident:
        duration, ramp, onset = DEFAULT_TIMING[kind]
        return cls(
            kind=kind,
            service=service,
            started_at=now,
            duration_s=duration if duration_s is None else duration_s,
            ramp_s=ramp if ramp_s is None else ramp_s,
            onset_s=onset if onset_s is None else onset_s,
        )

    def active(self, now: float) -> bool:
        return now < self.started_at + self.duration_s

    def effect(self, now: float) -> Effect:
        elapsed = now - self.started_at - self.onset_s
        if elapsed < 0 or not self.active(now):
            return Effect()
        progress = min(1.0, elapsed / self.ramp_s) if self.ramp_s > 0 else 1.0
        if self.kind is IncidentKind.LATENCY_SPIKE:
            return Effect(
                latency_factor=1 + 7 * progress,
                error_rate=0.01 * progress,
                cpu_ratio=0.25 * progress,
            )
        if self.kind is IncidentKind.ERROR_BURST_AFTER_DEPLOY:
            return Effect(latency_factor=1.3, error_rate=0.30 * progress, cpu_ratio=0.05)
        return Effect(memory_fraction=0.55 * progress)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "service": self.service,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "ramp_s": self.ramp_s,
            "onset_s": self.onset_s,
        }
