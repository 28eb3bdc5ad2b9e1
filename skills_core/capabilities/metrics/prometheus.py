"""A client for the Prometheus HTTP API (``/api/v1/query`` and ``/api/v1/query_range``).

PromQL is evaluated by Prometheus itself; this module only carries the query and maps the
answer into ``Sample`` / ``Series`` and the failure into a typed error:

* no answer (refused, timeout), 429, 5xx, or Prometheus's own ``timeout`` / ``unavailable``
  error types → ``MetricsUnavailable`` with a retry hint;
* 400 / 422 (``bad_data``, ``execution``) → ``MetricsQueryInvalid``: retrying cannot help.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from ..errors import MetricsQueryInvalid, MetricsUnavailable
from ..retry_hints import retry_after_for
from ..settings import PrometheusSource
from .samples import Sample, Series, finite

#: Prometheus refuses range queries above 11,000 points per series; say so before asking.
MAX_POINTS = 11_000
_RETRIABLE_ERROR_TYPES = {"timeout", "canceled", "unavailable", "internal"}


class PrometheusClient:
    def __init__(self, name: str, config: PrometheusSource, default_retry_after: float) -> None:
        self.name = name
        self._base = config.url.rstrip("/")
        self._retry_after = default_retry_after
        self._timeout = config.timeout_s
        self._http = httpx.Client(timeout=config.timeout_s, headers=config.headers)

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        data = self._get("/api/v1/query", params)
        kind = data.get("resultType")
        if kind not in ("vector", "scalar"):
            raise MetricsQueryInvalid(f"query returned a {kind}; ask for a number or a vector")
        with self._malformed_answer():
            if kind == "scalar":
                ts, value = data["result"]
                return [Sample(labels={}, value=finite(value), at=ts)]
            return [
                Sample(labels=item["metric"], value=finite(item["value"][1]), at=item["value"][0])
                for item in data["result"]
            ]

    def query_range(self, promql: str, *, start: float, end: float, step: float) -> list[Series]:
        if step <= 0 or end < start:
            raise MetricsQueryInvalid("query_range needs step > 0 and end >= start")
        if (end - start) / step > MAX_POINTS:
            raise MetricsQueryInvalid(
                f"{int((end - start) / step)} points per series; Prometheus allows {MAX_POINTS}: "
                "use a larger step or a shorter window"
            )
        params = {"query": promql, "start": start, "end": end, "step": step}
        data = self._get("/api/v1/query_range", params)
        if data.get("resultType") != "matrix":
            raise MetricsQueryInvalid(f"range query returned a {data.get('resultType')}")
        with self._malformed_answer():
            return [
                Series(labels=item["metric"], values=[(ts, finite(v)) for ts, v in item["values"]])
                for item in data["result"]
            ]

    @contextlib.contextmanager
    def _malformed_answer(self) -> Iterator[None]:
        """A 200 whose body is not the documented shape: a broken proxy, not a bad query."""
        try:
            yield
        except (KeyError, IndexError, TypeError, ValueError):
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r} sent a malformed answer",
                retry_after=self._retry_after,
            ) from None

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        url = self._base + path
        try:
            response = self._http.get(url, params=params)
        except httpx.TimeoutException:
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r} did not answer within {self._timeout}s",
                retry_after=self._retry_after,
            ) from None
        except httpx.TransportError as err:
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r} is unreachable: {type(err).__name__}",
                retry_after=self._retry_after,
            ) from None
        retry_after = retry_after_for(response, self._retry_after)
        body = _json_or_none(response)
        if body is None or retry_after is not None:
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r} answered HTTP {response.status_code}",
                retry_after=retry_after if retry_after is not None else self._retry_after,
            )
        if body.get("status") != "success":
            return self._raise_api_error(body)
        data = body.get("data")
        if not isinstance(data, dict):
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r} sent a malformed answer",
                retry_after=self._retry_after,
            )
        return data

    def _raise_api_error(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, message = body.get("errorType", "unknown"), body.get("error", "")
        if kind in _RETRIABLE_ERROR_TYPES:
            raise MetricsUnavailable(
                f"Prometheus source {self.name!r}: {kind}: {message}",
                retry_after=self._retry_after,
            )
        raise MetricsQueryInvalid(f"Prometheus source {self.name!r} refused the query: {message}")

    def close(self) -> None:
        self._http.close()


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
