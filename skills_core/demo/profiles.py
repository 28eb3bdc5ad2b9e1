"""Baselines of the simulated services: traffic, errors, latency, CPU and memory.

The numbers are chosen to look like a small web shop on a normal afternoon, so a health
check's baselines and thresholds behave as they would on real services: a storefront API
(``checkout``), a read-heavy, fast ``search``, and a slow, careful ``payments``.
"""

from __future__ import annotations

import dataclasses

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ServiceProfile:
    name: str
    #: Requests per second at the daily mean.
    rps: float
    #: Share of requests answered 5xx / 4xx.
    error_rate: float
    client_error_rate: float
    #: Log-normal latency: median seconds and shape.
    latency_median_s: float
    latency_sigma: float
    #: CPU utilisation (0..1 of the container's quota) at mean traffic.
    cpu_ratio: float
    memory_bytes: int
    memory_limit_bytes: int
    version: str


CHECKOUT = ServiceProfile(
    "checkout", 40, 0.004, 0.02, 0.120, 0.35, 0.35, 380 * MIB, 1024 * MIB, "v2.14.0"
)
SEARCH = ServiceProfile(
    "search", 120, 0.002, 0.01, 0.045, 0.40, 0.45, 620 * MIB, 2048 * MIB, "v5.3.1"
)
PAYMENTS = ServiceProfile(
    "payments", 15, 0.006, 0.03, 0.210, 0.30, 0.20, 300 * MIB, 768 * MIB, "v1.9.4"
)

DEFAULT_PROFILES: tuple[ServiceProfile, ...] = (CHECKOUT, SEARCH, PAYMENTS)
