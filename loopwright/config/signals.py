"""The health check's and triage's PromQL, built from ``[signals]`` and ``[services]``.

The core skills keep their contract (module-level ``SIGNALS``, ``DETAIL_SIGNALS``,
``WATCHED_SERVICES``); the platform sets those constants from the configuration when it
loads them (``core_constants``), so the same skill files work on any fleet. The defaults are
the demo fleet's names and give the skills' own constants back unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from .model import LoopwrightConfig, ServicesSection, SignalsSection

#: Health-check signals at 5-minute rates; triage's detail at 2-minute rates.
QUANTILES = {"p95": 0.95, "p99": 0.99}
_WORD = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2", "group_left", "group_right"}
)
_AGGREGATIONS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ]
)
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})


def with_matcher(expr: str, matcher: str) -> str:
    """``expr`` with ``matcher`` (``a="b"``) added to every metric selector in it."""
    if not matcher:
        return expr
    out, i = [], 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            end = expr.index(char, i + 1) + 1
            out.append(expr[i:end])
            i = end
        elif char == "[":
            end = expr.index("]", i) + 1
            out.append(expr[i:end])
            i = end
        elif _WORD.match(expr, i) and not (i and (expr[i - 1].isalnum() or expr[i - 1] in "_.")):
            word = _WORD.match(expr, i).group(0)  # type: ignore[union-attr]
            i += len(word)
            rest = expr[i:].lstrip()
            if word in _LABEL_LISTS and rest.startswith("("):
                end = expr.index(")", i) + 1
                out.append(word + expr[i:end])
                i = end
            elif word in _KEYWORDS or word in _AGGREGATIONS or rest.startswith("("):
                out.append(word)
            elif rest.startswith("{"):
                brace = expr.index("{", i)
                inner_end = expr.index("}", brace)
                inner = expr[brace + 1 : inner_end].strip()
                joined = f"{matcher},{inner}" if inner else matcher
                out.append(f"{word}{{{joined}}}")
                i = inner_end + 1
            else:
                out.append(f"{word}{{{matcher}}}")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _is_name(expr: str) -> bool:
    return _WORD.fullmatch(expr.strip()) is not None


def health_check_signals(signals: SignalsSection, label: str) -> dict[str, str]:
    """``SIGNALS``: one PromQL per signal answering one number per service (label ``service``)."""

    def rate(expr: str) -> str:
        return f"rate({expr}[5m])"

    requests = rate(signals.requests)
    errors = rate(with_matcher(signals.requests, signals.errors))
    buckets = rate(f"{signals.latency_histogram}_bucket")
    found = {
        "rps": f"sum by ({label}) ({requests})",
        "error_rate": f"sum by ({label}) ({errors}) / sum by ({label}) ({requests})",
        **{
            name: f"histogram_quantile({q}, sum by ({label}, le) ({buckets}))"
            for name, q in QUANTILES.items()
        },
        "cpu": f"max by ({label}) ({signals.cpu})",
        "memory": f"max by ({label}) ({signals.memory})",
    }
    if label == "service":
        return found
    return {k: f'label_replace({q}, "service", "$1", "{label}", "(.*)")' for k, q in found.items()}


def triage_signals(signals: SignalsSection, label: str) -> dict[str, str]:
    """``DETAIL_SIGNALS``: the same signals for one service (``SERVICE`` is replaced)."""
    one = f'{label}="SERVICE"'

    def rate(expr: str, extra: str = "") -> str:
        selected = (
            with_matcher(with_matcher(expr, extra), one) if extra else with_matcher(expr, one)
        )
        return f"rate({selected}[2m])"

    requests = f"sum({rate(signals.requests)})"
    return {
        "rps": requests,
        "error_rate": f"sum({rate(signals.requests, signals.errors)}) / {requests}",
        "p95": (
            f"histogram_quantile(0.95, sum by (le) ({rate(signals.latency_histogram + '_bucket')}))"
        ),
        "cpu": f"max({with_matcher(signals.cpu, one)})",
        "memory": f"max({with_matcher(signals.memory, one)})",
    }


def core_constants(config: LoopwrightConfig) -> dict[str, dict[str, Any]]:
    """Per core skill, the constants the configuration sets."""
    label = _label(config.services)
    return {
        "health-check": {
            "SIGNALS": health_check_signals(config.signals, label),
            "WATCHED_SERVICES": list(config.services.watch),
        },
        "incident-triage": {"DETAIL_SIGNALS": triage_signals(config.signals, label)},
    }


def _label(services: ServicesSection) -> str:
    if not _is_name(services.label) or ":" in services.label:
        raise ValueError(f"services.label must be a label name, got {services.label!r}")
    return services.label
