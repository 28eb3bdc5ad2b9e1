"""Reading the fleet the way a skill would: through the metrics capability's scrape source."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from skills_core.capabilities import Grant, MetricsService, Sample
from skills_core.capabilities.settings import CapabilitySettings, ScrapeSource
from skills_core.demo import Fleet


class SupportsClose(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=SupportsClose)


class Closing(Protocol):
    """Registers a service to be closed when the test ends; returns it."""

    def __call__(self, service: _C, /) -> _C: ...


GRANT = Grant.from_manifest("demo-test", {"metrics": {"sources": ["demo"]}})


def scraper(closing: Closing, fleet: Fleet, tmp_path: Path) -> MetricsService:
    source = ScrapeSource(targets=fleet.targets)
    settings = CapabilitySettings(db_path=tmp_path / "c.db", metrics={"demo": source})
    return closing(MetricsService(settings))


def values(metrics: MetricsService, selector: str) -> list[Sample]:
    return metrics.query(GRANT, selector)


def total(metrics: MetricsService, selector: str) -> float:
    return sum(s.value or 0 for s in values(metrics, selector))


def window(metrics: MetricsService, seconds: float, *selectors: str) -> list[float]:
    """How much each counter selector grew over ``seconds`` (a poor man's increase())."""
    before = [total(metrics, s) for s in selectors]
    time.sleep(seconds)
    return [total(metrics, s) - b for s, b in zip(selectors, before, strict=True)]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
