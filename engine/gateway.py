"""Inngest Connect: SDK workers that hold a WebSocket to the engine instead of serving HTTP.

A worker (`inngest.connect(...)` in the Python SDK) asks `POST /v0/connect/start` for a
gateway, opens a WebSocket to it (subprotocol `v0.connect.inngest.com`, protobuf messages in
`engine/connect_pb2.py`) and, after the engine's hello, sends its apps' function configs: they
are synced exactly as an HTTP sync would be, with step URLs `wss://connect?fnId=...`. From then
on a call to one of those functions leaves as `GATEWAY_EXECUTOR_REQUEST` (the payload is the
body an HTTP call would carry) and its answer comes back as `WORKER_REPLY`, which the engine
acknowledges; a reply whose socket dropped before it got through arrives by
`POST /v0/connect/flush`.

Delivery: a request the worker never acknowledged (`WORKER_REQUEST_ACK`) when its socket dropped
is sent again to another connection of the app at once and costs the run no attempt (an
acknowledgement lost on the wire as the socket died means the step may run twice: at least
once, as everywhere in Inngest). One it acknowledged waits `FLUSH_GRACE_S` for its reply, on the
worker's new socket or flushed over HTTP, and as long as the worker extends its lease; then it
fails as a transport error under the run's retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from google.protobuf.message import DecodeError

from . import connect_pb2 as pb
from . import jsonio
from .calls import SDK_HEADER, Answer, classify, transport_error
from .ids import new_ulid

log = logging.getLogger("loopwright.engine.connect")

SUBPROTOCOL = "v0.connect.inngest.com"
GATEWAY_PATH = "/v0/connect/gateway"
CONNECT_URL = "wss://connect"  # the app URL the SDK puts in a connected app's step URLs
HEARTBEAT_S = 10
# Also the SDK's flush age: a reply not acknowledged within it is sent again by HTTP.
EXTEND_LEASE_S = 5
# How long a call waits for a worker of its app to be connected (a worker reconnects within
# ~5 s of losing its socket, engine restarts included) before it fails as a transport error.
WORKER_WAIT_S = 15.0
FLUSH_GRACE_S = 2 * EXTEND_LEASE_S + 5
SESSION_TTL_S = 60.0
_STATUS = {pb.DONE: 200, pb.NOT_COMPLETED: 206, pb.ERROR: 500}
Register = Callable[[bytes], Awaitable[tuple[int, dict[str, Any]]]]


class Undelivered(Exception):
    """The request left for a worker whose socket dropped before it acknowledged it."""


class ReplyLost(Exception):
    """The worker took the request, then its socket dropped and no flushed reply came."""


@dataclasses.dataclass(eq=False)
class Pending:
    worker: Worker
    future: asyncio.Future[pb.SDKResponse]
    acked: bool = False
    lease_id: str = ""
    give_up: asyncio.TimerHandle | None = None  # armed when its worker's socket dropped


@dataclasses.dataclass(eq=False)
class Worker:
    """One connected socket: its apps, its calls in flight, and whether it takes new ones."""

    conn_id: str
    ws: web.WebSocketResponse
    apps: frozenset[str]
    sdk: str
    max_concurrency: int | None
    ready: bool = True  # False until WORKER_READY when the worker asked to say when it is
    paused: bool = False
    pending: dict[str, Pending] = dataclasses.field(default_factory=dict)

    @property
    def has_room(self) -> bool:
        if self.paused or not self.ready or self.ws.closed:
            return False
        return self.max_concurrency is None or len(self.pending) < self.max_concurrency


class Gateway:
    def __init__(self, register: Register, call_timeout_s: float) -> None:
        self._register = register
        self._call_timeout_s = call_timeout_s
        self._sessions: dict[str, tuple[str, float]] = {}  # session token -> (conn id, expiry)
        self._workers: dict[str, Worker] = {}
        self._app_of_slug: dict[str, str] = {}
        self._requests: dict[str, Pending] = {}
        self._changed = asyncio.Condition()
        self._waiting = 0  # calls waiting for a worker with room: only then is a change told
        self._unknown_kinds: set[int] = set()  # frame kinds logged once as ignored
        self.resent = 0

    # -- bootstrap -------------------------------------------------------------------

    def start(self, raw: bytes, host: str) -> Any:
        """Answer `POST /v0/connect/start`: a connection id and a one-time session token."""
        request = pb.StartRequest.FromString(raw)  # refuses a body that is not a StartRequest
        if request.exclude_gateways:
            log.info(
                "connect start excludes gateways %s; this engine has only one, so it is offered",
                list(request.exclude_gateways),
            )
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._sessions = {t: v for t, v in self._sessions.items() if v[1] > now}
        conn_id, token = new_ulid(), secrets.token_urlsafe(24)
        self._sessions[token] = (conn_id, now + SESSION_TTL_S)
        return pb.StartResponse(
            connection_id=conn_id,
            gateway_endpoint=f"ws://{host}{GATEWAY_PATH}",
            gateway_group="loopwright",
            session_token=token,
            sync_token=token,
        ).SerializeToString()

    # -- the socket ------------------------------------------------------------------

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            heartbeat=3 * HEARTBEAT_S,
            max_msg_size=8 * 1024 * 1024,
            # No permessage-deflate: it cost the SDK's socket thread ~11 % of the app's CPU
            # (py-spy, bench/throughput.py --connect) to shrink frames that never leave the host.
            compress=False,
        )
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(reason="expected a WebSocket upgrade")
        await ws.prepare(request)
        if ws.ws_protocol != SUBPROTOCOL:
            await ws.close(message=f"the WebSocket subprotocol must be {SUBPROTOCOL}".encode())
            return ws
        await _send(ws, pb.GATEWAY_HELLO, b"")
        worker = await self._handshake(ws)
        if worker is None:
            return ws
        try:
            await self._read(worker)
        finally:
            await self._drop(worker)
        return ws

    async def _handshake(self, ws: web.WebSocketResponse) -> Worker | None:
        hello = await self._hello(ws)
        if hello is None:
            await ws.close(message=b"expected WORKER_CONNECT (protobuf) within 30 s")
            return None
        session = self._sessions.pop(hello.auth_data.session_token, None)
        if session is None or session[0] != hello.connection_id:
            await ws.close(message=b"unknown session: call /v0/connect/start first")
            return None
        if hello.HasField("max_worker_concurrency") and hello.max_worker_concurrency < 1:
            await ws.close(message=b"max_worker_concurrency must be at least 1")
            return None
        # Python sends "0.5.19", TypeScript "v4.24.0"
        sdk = f"inngest-{hello.sdk_language}:v{hello.sdk_version.removeprefix('v')}"
        apps: list[str] = []
        for app in hello.apps:
            error = await self._sync(app, hello, sdk)
            if error:
                log.warning("connect sync of %s refused: %s", app.app_name, error)
                failure = pb.SystemError(code="sync_failed", message=error)
                await _send(ws, pb.SYNC_FAILED, failure.SerializeToString())
                await ws.close(message=error.encode()[:120])
                return None
            apps.append(app.app_name)
        worker = Worker(
            conn_id=hello.connection_id,
            ws=ws,
            apps=frozenset(apps),
            sdk=sdk,
            max_concurrency=(
                hello.max_worker_concurrency if hello.HasField("max_worker_concurrency") else None
            ),
            ready=not hello.worker_manual_readiness_ack,
        )
        ready = pb.GatewayConnectionReadyData(
            heartbeat_interval=f"{HEARTBEAT_S}s", extend_lease_interval=f"{EXTEND_LEASE_S}s"
        )
        await _send(ws, pb.GATEWAY_CONNECTION_READY, ready.SerializeToString())
        async with self._changed:
            self._workers[worker.conn_id] = worker
            self._changed.notify_all()
        log.info("connect worker %s up: apps %s (%s)", worker.conn_id, sorted(apps), sdk)
        return worker

    @staticmethod
    async def _hello(ws: web.WebSocketResponse) -> Any:
        try:
            msg = await ws.receive(timeout=30)
            if msg.type != WSMsgType.BINARY:
                return None
            frame = pb.ConnectMessage.FromString(msg.data)
            if frame.kind != pb.WORKER_CONNECT:
                return None
            return pb.WorkerConnectRequestData.FromString(frame.payload)
        except (TimeoutError, DecodeError):
            return None

    async def _sync(self, app: pb.AppConfiguration, hello: Any, sdk: str) -> str | None:
        try:
            functions = jsonio.loads(app.functions)
        except jsonio.JSONDecodeError as exc:
            return f"app {app.app_name}: functions are not JSON ({exc})"
        if isinstance(functions, list):
            functions = [_over_socket(fn) for fn in functions]
        body = {
            "appName": app.app_name,
            "url": CONNECT_URL,
            "functions": functions,
            "sdk": sdk,
            "framework": hello.framework or "connect",
            "appVersion": app.app_version if app.HasField("app_version") else None,
        }
        status, answer = await self._register(jsonio.dumpb(body))
        if status != 200:
            return str(answer.get("error") or f"sync failed ({status})")
        for fn in functions if isinstance(functions, list) else []:
            if isinstance(fn, dict) and isinstance(fn.get("id"), str):
                self._app_of_slug[fn["id"]] = app.app_name
        return None

    async def _read(self, worker: Worker) -> None:
        async for msg in worker.ws:
            if msg.type != WSMsgType.BINARY:
                continue
            try:
                frame = pb.ConnectMessage.FromString(msg.data)
                await self._on_frame(worker, frame)
            except Exception:  # one bad frame must not take the connection down
                log.exception("connect worker %s: bad frame", worker.conn_id)

    async def _on_frame(self, worker: Worker, frame: Any) -> None:
        kind = frame.kind
        if kind == pb.WORKER_REPLY:
            reply = pb.SDKResponse.FromString(frame.payload)
            self._resolve(reply)
            ack = pb.WorkerReplyAckData(request_id=reply.request_id).SerializeToString()
            await _send(worker.ws, pb.WORKER_REPLY_ACK, ack)
        elif kind == pb.WORKER_REQUEST_ACK:
            ack = pb.WorkerRequestAckData.FromString(frame.payload)
            pending = self._requests.get(ack.request_id)
            if pending is not None:
                pending.acked = True
        elif kind == pb.WORKER_HEARTBEAT:
            await _send(worker.ws, pb.GATEWAY_HEARTBEAT, b"")
        elif kind == pb.WORKER_REQUEST_EXTEND_LEASE:
            await self._extend_lease(
                worker, pb.WorkerRequestExtendLeaseData.FromString(frame.payload)
            )
        elif kind == pb.WORKER_READY:
            async with self._changed:
                worker.ready = True
                self._changed.notify_all()
        elif kind == pb.WORKER_PAUSE:
            worker.paused = True
            log.info("connect worker %s paused: no new calls", worker.conn_id)
        elif kind not in self._unknown_kinds:
            self._unknown_kinds.add(kind)
            log.warning(
                "connect worker %s sent a frame of unknown kind %s: ignored", worker.conn_id, kind
            )

    async def _extend_lease(self, worker: Worker, req: Any) -> None:
        pending = self._requests.get(req.request_id)
        ack = pb.WorkerRequestExtendLeaseAckData(
            request_id=req.request_id,
            account_id=req.account_id,
            env_id=req.env_id,
            app_id=req.app_id,
            function_slug=req.function_slug,
        )
        if pending is not None and not pending.future.done():
            # Also from a worker's new socket for a call its old one took: the SDK keeps
            # running it across a reconnect and cancels it if the lease is refused.
            if pending.worker is not worker:
                pending.worker.pending.pop(req.request_id, None)
                pending.worker = worker
                worker.pending[req.request_id] = pending
                if pending.give_up is not None:
                    pending.give_up.cancel()
                    pending.give_up = None
            pending.lease_id = new_ulid()
            ack.new_lease_id = pending.lease_id
        await _send(worker.ws, pb.WORKER_REQUEST_EXTEND_LEASE_ACK, ack.SerializeToString())

    async def _drop(self, worker: Worker) -> None:
        async with self._changed:
            self._workers.pop(worker.conn_id, None)
            self._changed.notify_all()
        loop = asyncio.get_running_loop()
        for request_id, pending in list(worker.pending.items()):
            if pending.future.done():
                continue
            if pending.acked:  # the worker may still reply on a new socket or flush it
                pending.give_up = loop.call_later(FLUSH_GRACE_S, _give_up, pending.future)
            else:
                pending.future.set_exception(Undelivered(request_id))
        log.info("connect worker %s gone (%d calls in flight)", worker.conn_id, len(worker.pending))

    def _resolve(self, reply: Any) -> bool:
        pending = self._requests.get(reply.request_id)
        if pending is None or pending.future.done():
            return False
        pending.future.set_result(reply)
        return True

    # -- flush -----------------------------------------------------------------------

    def flush(self, raw: bytes) -> Any:
        """`POST /v0/connect/flush`: a reply whose socket dropped before it was acknowledged."""
        reply = pb.SDKResponse.FromString(raw)
        if not reply.request_id:
            raise ValueError("a flushed reply needs its request_id")
        if not self._resolve(reply):
            log.info("flushed reply for %s: no call waits for it", reply.request_id)
        return pb.FlushResponse(request_id=reply.request_id).SerializeToString()

    # -- calls -----------------------------------------------------------------------

    def serves(self, url: str) -> bool:
        return url.startswith(("wss://", "ws://"))  # a `ws` runtime: only a socket reaches it

    def sdk_of(self, url: str) -> str:
        app = self._app_of_slug.get(_target(url)[0])
        worker = next((w for w in self._workers.values() if app in w.apps), None)
        return worker.sdk if worker else ""

    async def call(self, url: str, body: bytes, run_id: str) -> Answer:
        slug, step_id = _target(url)
        while True:
            # The app of a slug is known once a worker of it has connected: after an engine
            # restart that may happen while the call waits.
            worker = await self._worker_for(slug)
            if worker is None:
                return transport_error(
                    f"no Connect worker of the app of {slug!r} connected within {WORKER_WAIT_S:g}s"
                    " (start the app's inngest.connect(...) worker)"
                )
            app = self._app_of_slug[slug]  # a worker was found for it, so it is known
            try:
                reply = await self._exchange(worker, app, slug, step_id, run_id, body)
            except Undelivered:
                self.resent += 1
                log.warning(
                    "call for run %s never reached connect worker %s; sent again",
                    run_id,
                    worker.conn_id,
                )
                continue
            except ReplyLost:
                return transport_error(
                    f"connect worker {worker.conn_id} took the call, then its socket dropped"
                    f" and no reply was flushed within {FLUSH_GRACE_S}s"
                )
            except TimeoutError:
                return transport_error(
                    f"connect worker {worker.conn_id} did not reply within {self._call_timeout_s:g}s"
                )
            return _answer(reply)

    async def _worker_for(self, slug: str) -> Worker | None:
        def pick() -> Worker | None:
            app = self._app_of_slug.get(slug)
            ready = [w for w in self._workers.values() if app in w.apps and w.has_room]
            return min(ready, key=lambda w: len(w.pending), default=None)

        worker = pick()
        if worker is not None:
            return worker
        self._waiting += 1
        try:
            async with self._changed, asyncio.timeout(WORKER_WAIT_S):
                while (worker := pick()) is None:
                    await self._changed.wait()
        except TimeoutError:
            return None
        finally:
            self._waiting -= 1
        return worker

    async def _exchange(
        self, worker: Worker, app: str, slug: str, step_id: str, run_id: str, body: bytes
    ) -> Any:
        request_id = new_ulid()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = Pending(worker, future, lease_id=new_ulid())
        self._requests[request_id] = worker.pending[request_id] = pending
        try:
            request = pb.GatewayExecutorRequestData(
                request_id=request_id,
                app_name=app,
                function_slug=slug,
                step_id=step_id,
                request_payload=body,
                run_id=run_id,
                lease_id=pending.lease_id,
            )
            try:
                await _send(worker.ws, pb.GATEWAY_EXECUTOR_REQUEST, request.SerializeToString())
            except ConnectionError as exc:
                raise Undelivered(request_id) from exc
            async with asyncio.timeout(self._call_timeout_s):
                return await pending.future
        finally:
            self._requests.pop(request_id, None)
            pending.worker.pending.pop(request_id, None)  # its worker now, after a reconnect
            if self._waiting:
                async with self._changed:
                    self._changed.notify_all()

    async def close(self) -> None:
        """Tell every worker the gateway is going away, so they reconnect to its next life."""
        for worker in list(self._workers.values()):
            with contextlib.suppress(ConnectionError):
                await _send(worker.ws, pb.GATEWAY_CLOSING, b"")
            await worker.ws.close()

    def stats(self) -> dict[str, Any]:
        return {
            "workers": len(self._workers),
            "apps": sorted({a for w in self._workers.values() for a in w.apps}),
            "in_flight": sum(len(w.pending) for w in self._workers.values()),
            "resent": self.resent,
        }


async def _send(ws: web.WebSocketResponse, kind: int, payload: bytes) -> None:
    if ws.closed:
        raise ConnectionResetError("the worker's socket is closed")
    await ws.send_bytes(pb.ConnectMessage(kind=kind, payload=payload).SerializeToString())


def _over_socket(fn: Any) -> Any:
    """A connected function's steps run over its worker's socket, whatever URL the SDK put in
    its config (Python: `wss://connect?...` as a `ws` runtime; TypeScript: an `http` runtime)."""
    if not isinstance(fn, dict) or not isinstance(fn.get("steps"), dict):
        return fn  # the sync refuses it, naming the field
    url = f"{CONNECT_URL}?" + urllib.parse.urlencode({"fnId": fn.get("id"), "stepId": "step"})
    steps = {
        key: {**step, "runtime": {"type": "ws", "url": url}} if isinstance(step, dict) else step
        for key, step in fn["steps"].items()
    }
    return {**fn, "steps": steps}


def _give_up(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(ReplyLost())


@functools.lru_cache(maxsize=4096)
def _target(url: str) -> tuple[str, str]:
    """(fnId, stepId) of a call URL: parsed once per URL, which repeats across runs of a
    function (step ids are hashes of step names), though each call asks for it twice."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    return query.get("fnId", ""), query.get("stepId", "step")


def _answer(reply: Any) -> Answer:
    """The reply read as the HTTP answer it stands for (protocol 4.3)."""
    headers = {SDK_HEADER: reply.sdk_version or "connect"}
    if reply.no_retry:
        headers["x-inngest-no-retry"] = "true"
    if reply.HasField("retry_after"):
        headers["retry-after"] = reply.retry_after
    status = _STATUS.get(reply.status, 500)
    if status == 200 and reply.no_retry:
        # The TypeScript SDK sends every HTTP status but 200, 206 and 500 as DONE; its
        # non-retriable error (HTTP 400 with x-inngest-no-retry) is known only by the flag.
        status = 400
    answer = classify(status, headers, reply.body)
    return dataclasses.replace(answer, sdk=headers[SDK_HEADER])
