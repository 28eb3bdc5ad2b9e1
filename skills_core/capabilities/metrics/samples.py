"""The shapes every metrics source answers in, whatever it talks to underneath.

Non-finite values (``NaN`` from ``histogram_quantile`` over no traffic, ``±Inf`` buckets) are
``None``: results must be JSON, and "no value" is what a skill should see there.
"""

from __future__ import annotations

import math

import pydantic


def finite(value: float | str) -> float | None:
    """A float, or None for NaN and infinities (Prometheus sends them as strings)."""
    number = float(value)
    return number if math.isfinite(number) else None


class Sample(pydantic.BaseModel):
    """One series' value at one instant (an instant-vector element)."""

    model_config = pydantic.ConfigDict(frozen=True)

    labels: dict[str, str]
    value: float | None
    at: float


class Series(pydantic.BaseModel):
    """One series over a time range: ``values`` are ``(unix_seconds, value)`` pairs."""

    model_config = pydantic.ConfigDict(frozen=True)

    labels: dict[str, str]
    values: list[tuple[float, float | None]]


class HostResources(pydantic.BaseModel):
    """Saturation of the machine the platform runs on, in percent."""

    model_config = pydantic.ConfigDict(frozen=True)

    cpu_percent: float
    memory_percent: float
    disk_percent: float
