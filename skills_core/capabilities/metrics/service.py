"""The metrics capability: routes a granted source name to the client for its kind.

Sources are configured by name (``CapabilitySettings.metrics``); a skill's grant lists the
names it may read. Each kind answers what it can: ``prometheus`` evaluates any PromQL and
ranges, ``scrape`` answers instant selectors, ``host`` answers ``host()``. Asking a kind for
something it cannot do is ``MetricsQueryInvalid`` (retrying will not help); an outage is
``MetricsUnavailable`` with a retry hint.
"""

from __future__ import annotations

import time

from ..errors import CapabilityNotConfigured, MetricsQueryInvalid
from ..grant import Grant
from ..settings import CapabilitySettings, HostSource, PrometheusSource, ScrapeSource
from .host import HostProbe
from .prometheus import PrometheusClient
from .samples import HostResources, Sample, Series
from .scrape import Scraper

Backend = PrometheusClient | Scraper | HostProbe
MAX_RANGE_MINUTES = 7 * 24 * 60


class MetricsService:
    def __init__(self, settings: CapabilitySettings) -> None:
        retry = settings.default_retry_after_s
        self._backends: dict[str, Backend] = {}
        for name, config in settings.metrics.items():
            if isinstance(config, PrometheusSource):
                self._backends[name] = PrometheusClient(name, config, retry)
            elif isinstance(config, ScrapeSource):
                self._backends[name] = Scraper(name, config, retry)
            elif isinstance(config, HostSource):
                self._backends[name] = HostProbe(config)

    def query(self, grant: Grant, promql: str, *, source: str | None = None) -> list[Sample]:
        """PromQL at the current instant (or an instant selector, for a scrape source)."""
        name, backend = self._backend(grant, source)
        if isinstance(backend, HostProbe):
            raise MetricsQueryInvalid(f"source {name!r} is the local host: call host() instead")
        return backend.query(promql)

    def query_range(
        self,
        grant: Grant,
        promql: str,
        *,
        minutes: float = 60,
        step_seconds: float = 60,
        end: float | None = None,
        source: str | None = None,
    ) -> list[Series]:
        """PromQL over the ``minutes`` before ``end`` (default now); Prometheus sources only."""
        name, backend = self._backend(grant, source)
        if not isinstance(backend, PrometheusClient):
            raise MetricsQueryInvalid(
                f"source {name!r} keeps no history; ranges need a Prometheus source"
            )
        if not 0 < minutes <= MAX_RANGE_MINUTES:
            raise MetricsQueryInvalid(f"minutes must be in (0, {MAX_RANGE_MINUTES}]")
        stop = time.time() if end is None else end
        return backend.query_range(promql, start=stop - minutes * 60, end=stop, step=step_seconds)

    def host(self, grant: Grant, *, source: str | None = "host") -> HostResources:
        name, backend = self._backend(grant, source)
        if not isinstance(backend, HostProbe):
            raise MetricsQueryInvalid(f"source {name!r} is not a host source")
        return backend.read()

    def scrape(self, grant: Grant, *, source: str | None = None) -> list[Sample]:
        """Every sample a scrape source's targets expose right now."""
        name, backend = self._backend(grant, source)
        if not isinstance(backend, Scraper):
            raise MetricsQueryInvalid(f"source {name!r} is not a scrape source")
        return backend.scrape()

    def _backend(self, grant: Grant, source: str | None) -> tuple[str, Backend]:
        name = grant.metrics_source(source)
        backend = self._backends.get(name)
        if backend is None:
            raise CapabilityNotConfigured(
                f"metrics source {name!r} is granted but not configured on this platform "
                "(LOOPWRIGHT_METRICS_SOURCES / LOOPWRIGHT_PROMETHEUS_URL)"
            )
        return name, backend

    def close(self) -> None:
        for backend in self._backends.values():
            if not isinstance(backend, HostProbe):
                backend.close()
