"""Writes the metric snapshots under snapshots/: `python -m tests.core_skills.snapshot_factory`.

Each snapshot is what the metrics capability's ``query_range`` answers to a core skill's query
(health-check: every service's signals over the last 3 hours at 60 s; incident-triage: one service's
signals around the onset at 30 s), shaped after the demo fleet's service profiles
(``skills_core/demo/profiles.py``) and incidents (``incidents.py``), with seeded noise so the
files are reproducible. ``live_snapshot`` in test_live_prometheus.py checks the same query
shape against a real Prometheus scraping the real demo fleet.
"""

from __future__ import annotations

import datetime
import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent / "snapshots"
#: 2024-01-01T12:00:00Z, the end of every health-check snapshot.
END = 1_704_110_400
MINUTE = 60

# Per service: rps, 5xx share, p95 s, p99 s, CPU share, memory share (demo profiles).
PROFILES: dict[str, dict[str, float]] = {
    "checkout": {"rps": 40, "error_rate": 0.004, "p95": 0.22, "p99": 0.36, "cpu": 0.35, "memory": 0.38},
    "search": {"rps": 120, "error_rate": 0.002, "p95": 0.085, "p99": 0.12, "cpu": 0.45, "memory": 0.30},
    "payments": {"rps": 15, "error_rate": 0.006, "p95": 0.38, "p99": 0.48, "cpu": 0.20, "memory": 0.39},
}  # fmt: skip
SIGNALS = ("rps", "error_rate", "p95", "p99", "cpu", "memory")
Level = dict[str, float]
#: (index from the end, level) -> level: how an incident bends a service's signals.
Bend = Callable[[int, Level], Level]


def noisy(profile: Level, rng: random.Random, rps_scale: float = 1.0) -> Level:
    rps = profile["rps"] * rps_scale * (1 + rng.gauss(0, 0.05))
    requests = max(rps * 300, 1e-9)  # in the 5-minute rate window
    errors = max(
        0,
        round(
            rng.gauss(requests * profile["error_rate"], math.sqrt(requests * profile["error_rate"]))
        ),
    )
    return {
        "rps": rps,
        "error_rate": errors / requests,
        "p95": profile["p95"] * (1 + rng.gauss(0, 0.06)),
        "p99": profile["p99"] * (1 + rng.gauss(0, 0.10)),
        "cpu": min(1.0, max(0.01, profile["cpu"] + rng.gauss(0, 0.02))),
        "memory": profile["memory"] * (1 + 0.03 * rng.random()),
    }  # fmt: skip


def fleet_series(
    seed: int,
    bends: dict[str, Bend] | None = None,
    points: int = 180,
    step: int = MINUTE,
    end: int = END,
    rps_scale: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The health-check query's answer: one series per (service, signal)."""
    rng = random.Random(seed)
    values: dict[tuple[str, str], list[list[float | None]]] = {}
    for service, profile in PROFILES.items():
        for i in range(points):
            at = end - (points - 1 - i) * step
            level = noisy(profile, rng, (rps_scale or {}).get(service, 1.0))
            bend = (bends or {}).get(service)
            if bend:
                level = bend(points - 1 - i, level)
            for signal in SIGNALS:
                value = level.get(signal)
                rounded = None if value is None else round(value, 6)
                values.setdefault((service, signal), []).append([at, rounded])
    return [
        {"labels": {"service": service, "signal": signal}, "values": points_}
        for (service, signal), points_ in values.items()
    ]


def last(n: int, change: Callable[[int, Level], Level]) -> Bend:
    """Apply ``change`` to the last ``n`` points (its int is the index since the onset)."""
    return lambda back, level: change(n - 1 - back, level) if back < n else level


def ramp(since: int, over: int) -> float:
    return min(1.0, (since + 1) / over)


def scaled(level: Level, **factors: float) -> Level:
    return {**level, **{k: level[k] * f for k, f in factors.items()}}


def write(name: str, description: str, expected: dict[str, Any], answer: Any, **extra: Any) -> None:
    SNAPSHOTS.mkdir(exist_ok=True)
    body = {"description": description, "expected": expected, **extra}
    head = json.dumps(body, indent=1)[:-2]  # the metadata readable, one series per line
    series = ",\n  ".join(json.dumps(s, separators=(",", ":")) for s in answer)
    (SNAPSHOTS / f"{name}.json").write_text(f'{head},\n "query_range": [\n  {series}\n ]\n}}\n')


def health_check_snapshots() -> None:
    normal = {"checkout": "normal", "search": "normal", "payments": "normal"}
    write(
        "normal",
        "A calm afternoon: every service within its usual noise.",
        normal,
        fleet_series(1),
    )
    write(
        "degraded_latency",
        "checkout's p95 and p99 doubled for the last 12 minutes; no errors.",
        {**normal, "checkout": "degraded"},
        fleet_series(
            2,
            {
                "checkout": last(
                    12, lambda s, lv: scaled(lv, p95=1 + ramp(s, 2), p99=1 + 1.2 * ramp(s, 2))
                )
            },
        ),
    )
    write(
        "critical_error_burst",
        "error-burst-after-deploy on checkout: ~30% of requests fail for 8 minutes "
        "(the 5-minute rate climbs), latency x1.3.",
        {**normal, "checkout": "critical"},
        fleet_series(
            3,
            {
                "checkout": last(
                    8,
                    lambda s, lv: {
                        **scaled(lv, p95=1.3, p99=1.3),
                        "error_rate": 0.004 + 0.3 * ramp(s, 5),
                    },
                )
            },
        ),
    )
    write(
        "critical_latency_spike",
        "latency-spike on checkout: latency x8 over two minutes, +1% errors, CPU +25%.",
        {**normal, "checkout": "critical"},
        fleet_series(
            4,
            {
                "checkout": last(
                    10,
                    lambda s, lv: {
                        **scaled(lv, p95=1 + 7 * ramp(s, 2), p99=1 + 7 * ramp(s, 2)),
                        "error_rate": lv["error_rate"] + 0.01 * ramp(s, 2),
                        "cpu": lv["cpu"] + 0.25 * ramp(s, 2),
                    },
                )
            },
        ),
    )
    write(
        "degraded_memory_leak",
        "memory-leak on payments: memory climbs from 39% to 88% of the limit over 10 minutes.",
        {**normal, "payments": "degraded"},
        fleet_series(
            5, {"payments": last(10, lambda s, lv: {**lv, "memory": 0.39 + 0.49 * ramp(s, 10)})}
        ),
    )
    write(
        "false_alarm_blip",
        "search: the latest point with p95 x5 and 8% errors, then back to normal. One point is not "
        "an incident (the recent level is the median of the last 3 points).",
        normal,
        fleet_series(
            6,
            {
                "search": lambda back, lv: (
                    {**scaled(lv, p95=5, p99=6), "error_rate": 0.08} if back == 0 else lv
                )
            },
        ),
    )
    write(
        "false_alarm_low_traffic",
        "payments at night: 0.02 req/s, one failed request in the rate window reads as a 17% "
        "error rate and p99 jumps around; too few requests to mean anything.",
        normal,
        fleet_series(
            7,
            {
                "payments": lambda back, lv: {
                    **lv,
                    "error_rate": 1 / (lv["rps"] * 300) if back < 3 else 0.0,
                    "p99": lv["p99"] * (3 if back < 3 else 1),
                }
            },
            rps_scale={"payments": 0.02 / 15},
        ),
    )
    write(
        "false_alarm_chronic_errors",
        "checkout has answered ~3% errors for hours (a flaky dependency everyone knows): above "
        "the degraded rate, but not above its own baseline. Not a new incident.",
        normal,
        fleet_series(
            8, {"checkout": lambda back, lv: {**lv, "error_rate": 0.03 + 0.003 * math.sin(back)}}
        ),
    )
    write(
        "fresh_prometheus",
        "Prometheus started 8 minutes ago: no baseline yet, so only absolute limits apply; "
        "search is saturated (CPU 97%).",
        {**normal, "search": "critical"},
        fleet_series(9, {"search": lambda back, lv: {**lv, "cpu": 0.97}}, points=8),
    )
    write(
        "no_traffic",
        "payments served no request in 3 hours: rates and quantiles are NaN (None) and are "
        "skipped; CPU and memory are normal.",
        normal,
        fleet_series(
            10,
            {"payments": lambda back, lv: {**lv, "error_rate": None, "p95": None, "p99": None}},
            rps_scale={"payments": 0.0},
        ),
    )


def detail_series(
    seed: int, service: str, onset: int, change: Callable[[int, Level], Level]
) -> list[dict[str, Any]]:
    """The triage query's answer: one series per signal, 30 min before the onset to 10 after."""
    rng = random.Random(seed)
    values: dict[str, list[list[float | None]]] = {}
    for i in range(81):
        at = onset - 30 * MINUTE + i * 30
        level = noisy(PROFILES[service], rng)
        if at >= onset:
            level = change((at - onset) // 30, level)
        for signal in ("rps", "error_rate", "p95", "cpu", "memory"):
            values.setdefault(signal, []).append([at, round(level[signal], 6)])
    return [{"labels": {"signal": s}, "values": v} for s, v in values.items()]


def iso(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat().replace("+00:00", "Z")


def incident(service: str, severity: str, reason: str, onset: int) -> dict[str, Any]:
    stamp = iso(onset // 600 * 600).replace("-", "").replace(":", "")[:13] + "Z"
    return {
        "incident_id": f"{service}-{stamp}",
        "service": service,
        "severity": severity,
        "reason": reason,
        "onset": onset,
        "detected_at": onset + 240,
        "decided_by": "rules",
        "features": {},
    }


def deploy(service: str, version: str, at: int, description: str) -> dict[str, Any]:
    return {
        "service": service,
        "version": version,
        "at": iso(at),
        "author": "ana",
        "description": description,
    }


def triage_snapshots() -> None:
    onset = END - 10 * MINUTE
    write(
        "triage_error_burst",
        "checkout: v2.15.0 deployed 3 minutes before the onset, then ~30% errors.",
        {"cause": "deploy", "deploy": "v2.15.0"},
        detail_series(
            11, "checkout", onset, lambda s, lv: {**scaled(lv, p95=1.3), "error_rate": 0.3}
        ),
        event=incident("checkout", "critical", "error rate 30.2% >= 5.0%", onset),
        deploys=[
            deploy("checkout", "v2.15.0", onset - 3 * MINUTE, "new payment retry policy"),
            deploy("checkout", "v2.14.0", onset - 300 * MINUTE, "dependency bumps"),
        ],
    )
    write(
        "triage_memory_leak",
        "payments: memory from 39% to 91% of the limit, then thrashing (latency x1.6, 3% "
        "errors); last deploy 5 hours earlier.",
        {"cause": "capacity"},
        detail_series(
            12,
            "payments",
            onset,
            lambda s, lv: {
                **scaled(lv, p95=1 + 0.6 * ramp(s, 20)),
                "memory": 0.39 + 0.52 * ramp(s, 16),
                "error_rate": lv["error_rate"] + 0.03 * ramp(s, 20),
            },
        ),
        event=incident("payments", "degraded", "memory at 88.0% of the limit", onset),
        deploys=[deploy("payments", "v1.9.4", onset - 300 * MINUTE, "routine release")],
    )
    write(
        "triage_latency_spike",
        "checkout: latency x8 with +1% errors and CPU +25%, no deploy in 6 hours.",
        {"cause": "downstream"},
        detail_series(
            13,
            "checkout",
            onset,
            lambda s, lv: {
                **scaled(lv, p95=8),
                "error_rate": lv["error_rate"] + 0.01,
                "cpu": lv["cpu"] + 0.25,
            },
        ),
        event=incident("checkout", "critical", "p95 1.760s vs 0.220s baseline", onset),
        deploys=[],
    )
    write(
        "triage_errors_no_deploy",
        "search: 10% errors, latency unchanged, last deploy a day ago (outside the window).",
        {"cause": "errors"},
        detail_series(14, "search", onset, lambda s, lv: {**lv, "error_rate": 0.1}),
        event=incident("search", "critical", "error rate 10.0% >= 5.0%", onset),
        deploys=[],
    )


if __name__ == "__main__":
    health_check_snapshots()
    triage_snapshots()
    print(f"wrote {len(list(SNAPSHOTS.glob('*.json')))} snapshots to {SNAPSHOTS}")
