"""Configuration checks for `loopwright doctor`: is the file valid, and does each health-check
signal answer on the configured Prometheus?

``config_checks()`` returns one ``Check`` per finding, shaped like doctor's ``Finding``
(area, status, message, fix): ``fail`` is broken, ``warn`` works but blind somewhere (an empty
signal, no Prometheus configured).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx

from loopwright.doctor import Finding

from .model import ConfigError, LoopwrightConfig, config_path, load_config
from .signals import health_check_signals

PROMETHEUS_TIMEOUT_S = 10.0

#: One finding, in `loopwright doctor`'s shape (the doctor runs these checks too).
Check = Finding


def config_checks(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[Check]:
    try:
        config = load_config(path, environ)
    except ConfigError as err:
        return [Check("config", "fail", str(err), "fix the keys named above")]
    shown = path or config_path(environ or {})[0]
    found = [Check("config", "ok", f"valid ({shown or 'no loopwright.toml: defaults'})")]
    return found + signal_checks(config)


def signal_checks(config: LoopwrightConfig) -> list[Check]:
    """Run each health-check signal once (an instant query) and say which come back empty."""
    url = config.metrics.prometheus_url
    if not url:
        return [
            Check(
                "prometheus", "warn", "not configured: the health check and triage need it",
                "set metrics.prometheus_url (LOOPWRIGHT_PROMETHEUS_URL)",
            )
        ]  # fmt: skip
    try:
        signals = health_check_signals(config.signals, config.services.label)
    except ValueError as err:
        return [Check("signals", "fail", str(err), "fix services.label")]
    found = []
    with httpx.Client(base_url=url.rstrip("/"), timeout=PROMETHEUS_TIMEOUT_S) as http:
        for name, query in signals.items():
            found.append(_query(http, name, query))
            if found[-1].area == "prometheus":
                return [found[-1]]
    return found


def _query(http: httpx.Client, name: str, query: str) -> Check:
    try:
        resp = http.get("/api/v1/query", params={"query": query})
    except httpx.HTTPError as err:
        return Check("prometheus", "fail", f"unreachable at {http.base_url}: {err}",
                     "check metrics.prometheus_url")  # fmt: skip
    body = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    if resp.status_code >= 400 or body.get("status") != "success":
        error = body.get("error") or resp.text[:200]
        return Check(f"signal {name}", "fail", f"query refused: {error}", _fix(name))
    series = body.get("data", {}).get("result") or []
    if not series:  # blind, not broken: error_rate is also empty until a request fails
        return Check(f"signal {name}", "warn", f"no series for {query}", _fix(name))
    services = sorted({str(s.get("metric", {}).get("service")) for s in series})
    return Check(f"signal {name}", "ok", f"{len(series)} series ({', '.join(services[:5])})")


def _fix(signal: str) -> str:
    key = {
        "rps": "signals.requests",
        "error_rate": "signals.requests / signals.errors",
        "p95": "signals.latency_histogram",
        "p99": "signals.latency_histogram",
    }.get(signal, f"signals.{signal}")
    return f"set {key} to your metric name or PromQL (and services.label)"
