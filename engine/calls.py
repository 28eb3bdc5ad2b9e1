"""Calls to SDK apps and the classification of their answers (protocol 4.1 and 4.3).

A call that fails before its request can have reached the SDK is sent again at once on a
fresh connection and costs the run no attempt: a pooled keep-alive connection that the app's
server closed while it sat idle (uvicorn and Node close idle connections after 5 s, and the
close can cross our next request on the wire), or a reset while the body was being written.
Pooled connections are also dropped before those servers would close them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import types
from typing import Any, Protocol

import aiohttp

from . import jsonio
from .signing import sign_body

log = logging.getLogger("loopwright.engine")

SDK_HEADER = "x-inngest-sdk"
# Names the engine process (one random id per start) that sent a call, so whoever records calls
# (the chaos suite's app) can tell which engine life dispatched each one, even when a call sent
# just before a kill reaches the app after the next life has started.
BOOT_HEADER = "x-loopwright-engine-boot"
# Below the idle timeouts of the servers SDK apps run under (uvicorn: 5 s, Node's http: 5 s),
# so the engine rarely picks a connection the server is about to close.
KEEPALIVE_S = 4.0
_WRITE_FAILED = "Can not write request body"
# aiohttp's defaults that no SDK reads; every header is parsed again by the app's server.
_SKIP_HEADERS = ("Accept", "Accept-Encoding", "User-Agent")
_PYTHON_SDK = "inngest-py:"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one call produced. `kind` is ops | done | error."""

    kind: str
    status: int
    body: Any
    no_retry: bool = False
    retry_at_ms: int | None = None
    sdk: str = ""  # the answer's x-inngest-sdk header, e.g. "inngest-py:v0.5.19"


class ConnectRoute(Protocol):
    """Where calls to apps whose workers hold a Connect socket go (`engine.gateway`)."""

    def serves(self, url: str) -> bool: ...
    def sdk_of(self, url: str) -> str: ...
    async def call(self, url: str, body: bytes, run_id: str) -> Answer: ...


class Caller:
    def __init__(
        self, signing_key: str | None, timeout_s: float, connect: ConnectRoute | None = None
    ) -> None:
        self.connect = connect
        self.boot_id = secrets.token_hex(6)
        self._signing_key = signing_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None
        self._fresh: aiohttp.ClientSession | None = None
        self.resent = 0  # calls sent again because the first try never reached the SDK
        # Endpoints whose answers came from the Python SDK, which ignores `ctx.stack`
        # (protocol 4.1): their requests leave it out, so the app parses less per call.
        self._python_endpoints: set[str] = set()

    async def start(self) -> None:
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_reuseconn.append(_mark_reused)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=KEEPALIVE_S)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            json_serialize=jsonio.dumps,
            trace_configs=[tracing],
            skip_auto_headers=_SKIP_HEADERS,
        )
        # Resends go out on a connection of their own, never on another pooled one that
        # may be just as stale.
        self._fresh = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            timeout=self._timeout,
            skip_auto_headers=_SKIP_HEADERS,
        )

    async def close(self) -> None:
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()

    def wants_stack(self, url: str) -> bool:
        """False once the SDK behind `url` answered as the Python SDK."""
        if self.connect is not None and self.connect.serves(url):
            return not self.connect.sdk_of(url).startswith(_PYTHON_SDK)
        return _endpoint(url) not in self._python_endpoints

    def _learn_sdk(self, url: str, answer: Answer) -> Answer:
        if answer.sdk.startswith(_PYTHON_SDK):
            self._python_endpoints.add(_endpoint(url))
        return answer

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "Caller.start() first"
        return self._session

    async def call(self, url: str, body: bytes, run_id: str, step_id: str) -> Answer:
        if self.connect is not None and self.connect.serves(url):
            return await self.connect.call(url, body, run_id)
        headers = {
            "Content-Type": "application/json",
            "X-Run-ID": run_id,
            "X-Inngest-Step-ID": step_id,
            "x-inngest-req-version": "2",
            BOOT_HEADER: self.boot_id,
        }
        if self._signing_key:
            headers["X-Inngest-Signature"] = sign_body(body, self._signing_key)
        trace = {"reused": False, "answered": False}
        try:
            return self._learn_sdk(url, await _post(self.session, url, body, headers, trace))
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if not _never_delivered(exc, trace):
                return transport_error(_describe(exc))
            log.warning(
                "call for run %s step %s never reached the SDK (%s); resent on a fresh connection",
                run_id,
                step_id,
                _describe(exc),
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return transport_error(_describe(exc))
        self.resent += 1
        assert self._fresh is not None
        try:
            return await _post(self._fresh, url, body, headers, {})
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return transport_error(_describe(exc))


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    trace: dict[str, bool],
) -> Answer:
    async with session.post(url, data=body, headers=headers, trace_request_ctx=trace) as resp:
        trace["answered"] = True
        raw = await resp.read()
        answer = classify(resp.status, resp.headers, raw)
        sdk = resp.headers.get(SDK_HEADER)
        return dataclasses.replace(answer, sdk=sdk) if sdk else answer


def _endpoint(url: str) -> str:
    return url.partition("?")[0]


async def _mark_reused(
    session: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: object
) -> None:
    if isinstance(ctx.trace_request_ctx, dict):
        ctx.trace_request_ctx["reused"] = True


def _never_delivered(exc: aiohttp.ClientError, trace: dict[str, bool]) -> bool:
    """True when the request cannot have reached the SDK: the body could not be written, or
    a pooled connection was closed by the server before an answer began (the case in which
    RFC 9112 section 9.3.1 lets a client retry on a new connection). Once an answer's status
    line is in, the SDK had the request, and a failure is an ordinary transport error."""
    if trace.get("answered"):
        return False
    if isinstance(exc, aiohttp.ClientOSError) and _WRITE_FAILED in str(exc):
        return True
    return bool(trace.get("reused"))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc or 'request failed'}"


def classify(status: int, headers: Any, raw: bytes) -> Answer:
    if SDK_HEADER not in headers:
        return transport_error(
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
            return transport_error("unparseable streaming answer from the SDK")
    try:
        body = jsonio.loads(raw) if raw else None
    except jsonio.JSONDecodeError:
        return transport_error(f"invalid status code: {status} (body is not JSON)")
    lower = {k.lower(): v for k, v in headers.items()}
    # Honoured on every answer that carries it: a 206 `StepError` for a nested step has it.
    no_retry = str(lower.get("x-inngest-no-retry", "")).lower() == "true"
    if status == 206:
        if not isinstance(body, list):
            return transport_error("a 206 answer must be a JSON array of ops")
        return Answer("ops", status, body, no_retry, _retry_at(lower.get("retry-after")))
    if status == 200:
        return Answer("done", status, body)
    return Answer("error", status, body, no_retry, _retry_at(lower.get("retry-after")))


def transport_error(message: str) -> Answer:
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
