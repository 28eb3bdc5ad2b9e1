"""Reading ``/metrics`` endpoints directly, for deployments without a Prometheus server.

The exposition text is parsed by ``prometheus_client``'s own parser and selectors by
``promql_parser`` (both maintained libraries, no hand-written grammar). Without a server
there is no history, so a scrape source answers only *instant selectors*
(``http_requests_total{service="checkout",status=~"5.."}``); anything that needs history
(``rate``, ``histogram_quantile``, ranges) is refused with a message that says to add a
Prometheus source.

Like Prometheus, every target gets a synthetic ``up`` sample (1 scraped, 0 failed) and the
labels ``job`` (the source name) and ``instance`` (the target name). A failing target makes
the answer partial, not an error; only when every target fails is the source unavailable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import promql_parser
from prometheus_client.parser import text_string_to_metric_families

from ..errors import MetricsQueryInvalid, MetricsUnavailable
from ..settings import ScrapeSource
from .samples import Sample, finite

Matcher = Callable[[dict[str, str]], bool]


class Scraper:
    def __init__(self, name: str, config: ScrapeSource, default_retry_after: float) -> None:
        self.name = name
        self._targets = dict(config.targets)
        self._retry_after = default_retry_after
        self._timeout = config.timeout_s
        self._http = httpx.Client(timeout=config.timeout_s)

    def scrape(self) -> list[Sample]:
        """Every sample of every target, plus one ``up`` per target."""
        now = time.time()
        with ThreadPoolExecutor(max_workers=min(8, len(self._targets))) as pool:
            answers = list(pool.map(self._scrape_one, self._targets.items()))
        samples: list[Sample] = []
        failures: list[str] = []
        for (target, _url), (found, problem) in zip(self._targets.items(), answers, strict=True):
            base = {"job": self.name, "instance": target}
            samples.append(
                Sample(labels={**base, "__name__": "up"}, value=0 if problem else 1, at=now)
            )
            if problem:
                failures.append(f"{target}: {problem}")
            samples += [
                Sample(labels={**labels, **base}, value=value, at=now) for labels, value in found
            ]
        if len(failures) == len(self._targets):
            raise MetricsUnavailable(
                f"scrape source {self.name!r}: no target answered ({'; '.join(failures)})",
                retry_after=self._retry_after,
            )
        return samples

    def query(self, promql: str) -> list[Sample]:
        matches = selector_matcher(promql, source=self.name)
        return [s for s in self.scrape() if matches(s.labels)]

    def _scrape_one(
        self, item: tuple[str, str]
    ) -> tuple[list[tuple[dict[str, str], float | None]], str | None]:
        _target, url = item
        try:
            response = self._http.get(url, headers={"Accept": "text/plain;version=0.0.4"})
        except httpx.TimeoutException:
            return [], f"no answer within {self._timeout}s"
        except httpx.TransportError as err:
            return [], type(err).__name__
        if response.status_code != 200:
            return [], f"HTTP {response.status_code}"
        try:
            return _parse(response.text), None
        except (ValueError, TypeError, IndexError, KeyError) as err:
            return [], f"unparseable exposition: {type(err).__name__}: {err}"

    def close(self) -> None:
        self._http.close()


def _parse(text: str) -> list[tuple[dict[str, str], float | None]]:
    return [
        ({**sample.labels, "__name__": sample.name}, finite(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _predicate(op: str, want: str) -> Callable[[str], bool]:
    if op == "MatchOp.Equal":
        return lambda have: have == want
    if op == "MatchOp.NotEqual":
        return lambda have: have != want
    try:
        pattern = re.compile(want)
    except re.error as err:
        raise MetricsQueryInvalid(f"bad regular expression {want!r}: {err}") from None
    if op == "MatchOp.Re":
        return lambda have: pattern.fullmatch(have) is not None
    return lambda have: pattern.fullmatch(have) is None


def selector_matcher(promql: str, *, source: str) -> Matcher:
    """A predicate over label sets for an instant selector; refuses any other expression."""
    try:
        expr = promql_parser.parse(promql)
    except ValueError as err:
        raise MetricsQueryInvalid(f"not valid PromQL: {err}") from None
    if not isinstance(expr, promql_parser.VectorSelector) or expr.matchers.or_matchers:
        raise MetricsQueryInvalid(
            f"scrape source {source!r} has no history and answers only instant selectors like "
            'http_requests_total{service="checkout"}; rate(), histogram_quantile() and ranges '
            "need a Prometheus source (LOOPWRIGHT_PROMETHEUS_URL)"
        )
    wanted = [(m.name, _predicate(str(m.op), m.value)) for m in expr.matchers.matchers]
    if expr.name:
        wanted.append(("__name__", _predicate("MatchOp.Equal", expr.name)))

    def matches(labels: dict[str, str]) -> bool:
        return all(test(labels.get(name, "")) for name, test in wanted)

    return matches
