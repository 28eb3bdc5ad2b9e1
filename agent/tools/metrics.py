"""Look before you write: what this platform can reach, and what its metrics say now.

Both go through ``skills_core.capabilities`` (the same services skills use), read-only, with
a grant of every configured metrics source. When that package is not installed the contract's
capability list still answers and ``query_metrics`` says why it cannot.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pydantic

from agent.errors import ToolFailed

from .base import Args, Tool, ToolResult

CONTRACT = {
    "metrics": "query(promql), query_range(promql, minutes, step_seconds), host()",
    "deploys": "recent(service=None, hours=6)",
    "notify": "post(channel, text, thread=None)",
    "llm": "classify(text, labels, instructions=None), complete(prompt, system=None)",
    "http": "get(url, params=None) on granted public hosts",
}
MAX_SERIES = 20
MAX_POINTS = 30


class ListCapabilitiesArgs(Args):
    pass


class QueryMetricsArgs(Args):
    promql: str = pydantic.Field(min_length=1, max_length=2000, description="a PromQL query")
    minutes: int | None = pydantic.Field(
        default=None, ge=1, le=10080, description="a range over the last N minutes; omit: instant"
    )
    step_seconds: int = pydantic.Field(default=60, ge=1, le=3600)
    source: str | None = pydantic.Field(
        default=None, description="a metrics source name; omit for the first one"
    )


class MetricsTools:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: Any = None
        self._settings: Any = None

    def tools(self) -> list[Tool]:
        return [
            Tool(
                "list_capabilities",
                "What skills can reach here: metrics sources, deploy sources, notify channels, "
                "whether an LLM is configured, and the methods of each capability.",
                ListCapabilitiesArgs,
                self.list_capabilities,
            ),
            Tool(
                "query_metrics",
                "Run a PromQL query now (instant, or over the last `minutes`) to check what "
                "a skill would see before writing it.",
                QueryMetricsArgs,
                self.query_metrics,
            ),
        ]

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._settings is None:
                try:
                    caps = importlib.import_module("skills_core.capabilities")
                except ImportError as err:
                    raise ToolFailed(
                        f"metrics are not available in this installation ({err})"
                    ) from None
                self._settings = caps.CapabilitySettings.from_env()
                self._services = caps.MetricsService(self._settings)
            return self._settings, self._services

    def list_capabilities(self, _: ListCapabilitiesArgs) -> ToolResult:
        try:
            settings, _services = self._load()
        except ToolFailed as err:
            return ToolResult.success(
                {"methods": CONTRACT, "configured": None, "note": err.message}
            )
        configured = {
            "metrics": {name: src.kind for name, src in settings.metrics.items()},
            "deploys": sorted(settings.deploys),
            "notify": sorted(getattr(settings.notify, "channels", {}) or {"inbox": None}),
            "llm": settings.llm is not None,
        }
        return ToolResult.success({"methods": CONTRACT, "configured": configured})

    def query_metrics(self, args: QueryMetricsArgs) -> ToolResult:
        settings, service = self._load()
        caps = importlib.import_module("skills_core.capabilities")
        grant = caps.Grant(skill_id="agent", metrics_sources=tuple(settings.metrics))
        try:
            if args.minutes is None:
                samples = service.query(grant, args.promql, source=args.source)
                rows = [s.model_dump(mode="json") for s in samples[:MAX_SERIES]]
                total = len(samples)
            else:
                series = service.query_range(
                    grant,
                    args.promql,
                    minutes=args.minutes,
                    step_seconds=args.step_seconds,
                    source=args.source,
                )
                rows = [_thin(s.model_dump(mode="json")) for s in series[:MAX_SERIES]]
                total = len(series)
        except caps.CapabilityError as err:
            raise ToolFailed(f"{type(err).__name__}: {err.message}") from None
        return ToolResult.success({"series": rows, "total": total, "shown": len(rows)})


def _thin(series: dict[str, Any]) -> dict[str, Any]:
    """At most MAX_POINTS points per series: enough to see a shape, cheap in tokens."""
    values = series.get("values") or []
    stride = max(1, len(values) // MAX_POINTS)
    return {**series, "values": values[::stride][-MAX_POINTS:]}
