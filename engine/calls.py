"""Calls to SDK apps and the classification of their answers (protocol 4.1 and 4.3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import aiohttp

from . import jsonio
from .signing import sign_body

SDK_HEADER = "x-inngest-sdk"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one call produced. `kind` is ops | done | error."""

    kind: str
    status: int
    body: Any
    no_retry: bool = False
    retry_at_ms: int | None = None


class Caller:
    def __init__(self, signing_key: str | None, timeout_s: float) -> None:
        self._signing_key = signing_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, json_serialize=jsonio.dumps
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "Caller.start() first"
        return self._session

    async def call(self, url: str, body: bytes, run_id: str, step_id: str) -> Answer:
        headers = {
            "Content-Type": "application/json",
            "X-Run-ID": run_id,
            "X-Inngest-Step-ID": step_id,
            "x-inngest-req-version": "2",
        }
        if self._signing_key:
            headers["X-Inngest-Signature"] = sign_body(body, self._signing_key)
        try:
            async with self.session.post(url, data=body, headers=headers) as resp:
                raw = await resp.read()
                return classify(resp.status, resp.headers, raw)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return _transport_error(f"{type(exc).__name__}: {exc or 'request failed'}")


def classify(status: int, headers: Any, raw: bytes) -> Answer:
    if SDK_HEADER not in headers:
        return _transport_error(
            f"invalid status code: {status} (the answer is not from an Inngest SDK)"
        )
    if status == 201:  # streaming: keep-alive spaces, then a wrapped answer
        try:
            wrapped = jsonio.loads(raw.strip())
            inner = wrapped.get("body")
            body_bytes = inner.encode() if isinstance(inner, str) else jsonio.dumpb(inner)
            return classify(
                int(wrapped["status"]),
                {SDK_HEADER: "1", **(wrapped.get("headers") or {})},
                body_bytes,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return _transport_error("unparseable streaming answer from the SDK")
    try:
        body = jsonio.loads(raw) if raw else None
    except jsonio.JSONDecodeError:
        return _transport_error(f"invalid status code: {status} (body is not JSON)")
    lower = {k.lower(): v for k, v in headers.items()}
    # Honoured on every answer that carries it: a 206 `StepError` for a nested step has it.
    no_retry = str(lower.get("x-inngest-no-retry", "")).lower() == "true"
    if status == 206:
        if not isinstance(body, list):
            return _transport_error("a 206 answer must be a JSON array of ops")
        return Answer("ops", status, body, no_retry, _retry_at(lower.get("retry-after")))
    if status == 200:
        return Answer("done", status, body)
    return Answer("error", status, body, no_retry, _retry_at(lower.get("retry-after")))


def _transport_error(message: str) -> Answer:
    return Answer("error", 0, {"error": message, "name": "Error", "message": message})


def _retry_at(value: str | None) -> int | None:
    if not value:
        return None
    now = dt.datetime.now(dt.UTC)
    value = value.strip()
    if len(value) <= 7 and value.isdigit():
        when = now + dt.timedelta(seconds=int(value))
    else:
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    lo, hi = now + dt.timedelta(seconds=1), now + dt.timedelta(hours=24)
    return int(min(max(when, lo), hi).timestamp() * 1000)
