"""Scheduled incidents: the "latency spikes overnight and nobody notices" story, on a timer."""

from __future__ import annotations

import dataclasses
import datetime

from .incidents import IncidentKind


@dataclasses.dataclass(frozen=True)
class ScheduledIncident:
    """Play ``kind`` on ``service`` every day at local time ``at``."""

    at: datetime.time
    service: str = "checkout"
    kind: IncidentKind = IncidentKind.LATENCY_SPIKE
    duration_s: float = 1200.0

    def seconds_until_next(self, now: datetime.datetime) -> float:
        today = now.replace(
            hour=self.at.hour, minute=self.at.minute, second=self.at.second, microsecond=0
        )
        target = today if today > now else today + datetime.timedelta(days=1)
        return (target - now).total_seconds()


def overnight_spike(at: str = "02:00", service: str = "checkout") -> ScheduledIncident:
    """Parse ``HH:MM`` into the nightly latency spike."""
    return ScheduledIncident(at=datetime.time.fromisoformat(at), service=service)
