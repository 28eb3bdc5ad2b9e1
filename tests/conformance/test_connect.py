"""Inngest Connect (`inngest.connect`): the official Python SDK's WebSocket worker against the engine.

The worker bootstraps at `/v0/connect/start`, syncs its functions over the socket and runs them
when the engine sends executor requests; no HTTP endpoint of the app exists. Scenarios: steps
and their memos, a retried step, a non-retriable error, sleep, parallel steps, wait for an
event, two apps on one worker, a restarted worker, a paused worker, and the socket's own rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import inngest
import pytest

from engine import connect_pb2 as pb

from ._connect_worker import ConnectWorker
from ._engine import EngineAPI, EngineProcess
from ._harness import new_client, poll

SUBPROTOCOL = "v0.connect.inngest.com"


def client(engine: EngineAPI, name: str) -> inngest.Inngest:
    return new_client(engine.url, f"connect-{name}-{uuid.uuid4().hex[:6]}")


def run_of(engine: EngineAPI, event_id: str, timeout: float = 20.0) -> dict[str, Any]:
    runs = poll(lambda: engine.event_runs(event_id), timeout=timeout, what="a run of the event")
    run_id = runs[0]["run_id"]
    return poll(
        lambda: (r := engine.run(run_id))["status"] in ("Completed", "Failed", "Cancelled") and r,
        timeout=timeout,
        what=f"run {run_id} to end",
    )


def send(c: inngest.Inngest, name: str, data: dict[str, Any] | None = None) -> str:
    return c.send_sync(inngest.Event(name=f"{c.app_id}/{name}", data=data or {}))[0]


class Ran:
    """What step bodies did, across the worker's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[str] = []

    def note(self, item: str) -> None:
        with self._lock:
            self.items.append(item)

    def count(self, item: str) -> int:
        with self._lock:
            return self.items.count(item)


@pytest.fixture(scope="module")
def steps_app(engine_api: EngineAPI) -> Iterator[tuple[inngest.Inngest, Ran, ConnectWorker]]:
    c = client(engine_api, "steps")
    ran = Ran()

    def trigger(name: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=f"{c.app_id}/{name}")

    @c.create_function(fn_id="seq", trigger=trigger("seq"), retries=0)
    def seq(ctx: inngest.ContextSync) -> dict[str, Any]:
        def body(name: str, value: int) -> int:
            ran.note(f"{ctx.run_id}:{name}")
            return value

        a = ctx.step.run("a", lambda: body("a", ctx.event.data["x"] + 1))
        b = ctx.step.run("b", lambda: body("b", a * 10))
        return {"a": a, "b": b}

    @c.create_function(fn_id="flaky", trigger=trigger("flaky"), retries=2)
    async def flaky(ctx: inngest.Context) -> str:
        async def body() -> str:
            ran.note(f"{ctx.run_id}:flaky")
            if ran.count(f"{ctx.run_id}:flaky") < 2:
                raise RuntimeError("first try fails")
            return "ok"

        return await ctx.step.run("flaky", body)

    @c.create_function(fn_id="fatal", trigger=trigger("fatal"), retries=3)
    async def fatal(ctx: inngest.Context) -> None:
        ran.note(f"{ctx.run_id}:fatal")
        raise inngest.NonRetriableError("no point retrying")

    @c.create_function(fn_id="sleepy", trigger=trigger("sleepy"), retries=0)
    async def sleepy(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", 300)  # ms
        return await ctx.step.run("after", lambda: "awake")

    @c.create_function(fn_id="fan", trigger=trigger("fan"), retries=0)
    async def fan(ctx: inngest.Context) -> tuple[Any, ...]:
        return await ctx.group.parallel(
            tuple((lambda i=i: ctx.step.run(f"p{i}", lambda: i * i)) for i in range(3))
        )

    @c.create_function(fn_id="waiter", trigger=trigger("wait"), retries=0)
    async def waiter(ctx: inngest.Context) -> Any:
        got = await ctx.step.wait_for_event(
            "reply",
            event=f"{c.app_id}/reply",
            if_exp="event.data.key == async.data.key",
            timeout=10_000,
        )
        return got.data if got else None

    worker = ConnectWorker([(c, [seq, flaky, fatal, sleepy, fan, waiter])])
    with worker.running():
        yield c, ran, worker


def test_steps_run_once_and_memos_flow(steps_app: Any, engine_api: EngineAPI) -> None:
    c, ran, _ = steps_app
    run = run_of(engine_api, send(c, "seq", {"x": 1}))
    assert run["status"] == "Completed", run
    assert run["output"] == {"a": 2, "b": 20}
    assert [ran.count(f"{run['run_id']}:{s}") for s in ("a", "b")] == [1, 1]
    names = [s["name"] for s in engine_api.steps(run["run_id"]) if s["kind"] == "run"]
    assert names == ["a", "b"]


def test_the_app_is_synced_as_a_connect_app(steps_app: Any, engine_api: EngineAPI) -> None:
    c, _, _ = steps_app
    apps = {a["name"]: a for a in engine_api.http.get("/v1/apps").json()["data"]}
    assert apps[c.app_id]["url"] == "wss://connect"
    assert apps[c.app_id]["framework"] == "connect"


def test_a_failed_step_is_retried(steps_app: Any, engine_api: EngineAPI) -> None:
    c, ran, _ = steps_app
    run = run_of(engine_api, send(c, "flaky"), timeout=30)
    assert run["status"] == "Completed", run
    assert run["output"] == "ok"
    assert ran.count(f"{run['run_id']}:flaky") == 2


def test_a_non_retriable_error_fails_at_once(steps_app: Any, engine_api: EngineAPI) -> None:
    c, ran, _ = steps_app
    run = run_of(engine_api, send(c, "fatal"))
    assert run["status"] == "Failed", run
    assert "no point retrying" in str(run["output"])
    assert ran.count(f"{run['run_id']}:fatal") == 1


def test_sleep_then_step(steps_app: Any, engine_api: EngineAPI) -> None:
    c, _, _ = steps_app
    started = time.monotonic()
    run = run_of(engine_api, send(c, "sleepy"))
    assert run["status"] == "Completed", run
    assert run["output"] == "awake"
    assert time.monotonic() - started >= 0.3


def test_parallel_steps(steps_app: Any, engine_api: EngineAPI) -> None:
    c, _, _ = steps_app
    run = run_of(engine_api, send(c, "fan"))
    assert run["status"] == "Completed", run
    assert run["output"] == [0, 1, 4]


def test_wait_for_event_matches(steps_app: Any, engine_api: EngineAPI) -> None:
    c, _, _ = steps_app
    event_id = send(c, "wait", {"key": "k1"})
    run_id = poll(lambda: engine_api.event_runs(event_id), what="the waiter's run")[0]["run_id"]
    poll(
        lambda: any(s["kind"] == "wait_for_event" for s in engine_api.steps(run_id)),
        what="the run to wait",
    )
    send(c, "reply", {"key": "other"})
    send(c, "reply", {"key": "k1", "n": 7})
    run = run_of(engine_api, event_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"key": "k1", "n": 7}


# -- the socket's own rules, with a worker driven by hand -------------------------------------


class RawWorker:
    """A Connect worker written against the wire format, to do what the SDK would not."""

    def __init__(self, engine: EngineAPI, app_name: str, fn_ids: list[str], **connect: Any):
        self.engine, self.app_name, self.fn_ids = engine, app_name, fn_ids
        self.connect_fields = connect
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    def functions(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{self.app_name}-{fn_id}",
                "name": fn_id,
                "triggers": [{"event": f"{self.app_name}/{fn_id}"}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {
                            "type": "ws",
                            "url": f"wss://connect?fnId={self.app_name}-{fn_id}&stepId=step",
                        },
                        "retries": {"attempts": 0},
                    }
                },
            }
            for fn_id in self.fn_ids
        ]

    async def open(self, subprotocol: str = SUBPROTOCOL, token: str | None = None) -> pb.Any:
        self.session = aiohttp.ClientSession()
        async with self.session.post(
            f"{self.engine.url}/v0/connect/start", data=pb.StartRequest().SerializeToString()
        ) as resp:
            assert resp.status == 200, await resp.text()
            start = pb.StartResponse.FromString(await resp.read())
        self.ws = await self.session.ws_connect(start.gateway_endpoint, protocols=(subprotocol,))
        hello = await self.recv()
        assert hello.kind == pb.GATEWAY_HELLO
        connect = pb.WorkerConnectRequestData(
            connection_id=start.connection_id,
            auth_data=pb.AuthData(session_token=token or start.session_token),
            apps=[
                pb.AppConfiguration(
                    app_name=self.app_name, functions=json.dumps(self.functions()).encode()
                )
            ],
            sdk_language="raw",
            sdk_version="0",
            framework="connect",
            **self.connect_fields,
        )
        await self.send(pb.WORKER_CONNECT, connect.SerializeToString())
        return await self.recv()

    async def send(self, kind: int, payload: bytes) -> None:
        assert self.ws is not None
        await self.ws.send_bytes(pb.ConnectMessage(kind=kind, payload=payload).SerializeToString())

    async def recv(self, within_s: float = 10.0) -> Any:
        assert self.ws is not None
        msg = await self.ws.receive(timeout=within_s)
        if msg.type != aiohttp.WSMsgType.BINARY:
            return msg
        return pb.ConnectMessage.FromString(msg.data)

    async def next_request(self, within_s: float = 10.0) -> Any:
        while True:
            frame = await self.recv(within_s)
            if getattr(frame, "kind", None) == pb.GATEWAY_EXECUTOR_REQUEST:
                return pb.GatewayExecutorRequestData.FromString(frame.payload)

    async def ack(self, req: Any) -> None:
        ack = pb.WorkerRequestAckData(request_id=req.request_id, function_slug=req.function_slug)
        await self.send(pb.WORKER_REQUEST_ACK, ack.SerializeToString())

    @staticmethod
    def reply(req: Any, output: Any) -> bytes:
        return pb.SDKResponse(
            request_id=req.request_id,
            status=pb.DONE,
            body=json.dumps(output).encode(),
            sdk_version="inngest-raw:v0",
            request_version=2,
        ).SerializeToString()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()


@contextlib.asynccontextmanager
async def connected(engine: EngineAPI, tag: str, **fields: Any) -> AsyncIterator[RawWorker]:
    """A hand-driven worker of a new app with one function `f`, past its handshake."""
    worker = RawWorker(engine, raw_app(tag), ["f"], **fields)
    try:
        await worker.open()
        yield worker
    finally:
        await worker.close()


def raw_app(tag: str) -> str:
    return f"connect-raw-{tag}-{uuid.uuid4().hex[:6]}"


def post_event(engine: EngineAPI, name: str, data: dict[str, Any] | None = None) -> str:
    resp = engine.post_events([{"name": name, "data": data or {}}])
    assert resp.status_code == 200, resp.text
    return str(resp.json()["ids"][0])


async def run_done(engine: EngineAPI, event_id: str) -> dict[str, Any]:
    return await asyncio.to_thread(run_of, engine, event_id)


async def test_a_request_never_acknowledged_goes_to_another_worker(engine_api: EngineAPI) -> None:
    app = raw_app("resend")
    dropper, good = RawWorker(engine_api, app, ["f"]), RawWorker(engine_api, app, ["f"])
    try:
        assert (await dropper.open()).kind == pb.GATEWAY_CONNECTION_READY
        assert (await good.open()).kind == pb.GATEWAY_CONNECTION_READY
        resent = engine_api.http.get("/v1/stats").json()["data"]["connect"]["resent"]
        event_id = post_event(engine_api, f"{app}/f")
        first = await dropper.next_request()  # the first worker connected is picked first
        await dropper.close()  # gone before it acknowledged the request
        again = await good.next_request()
        assert again.request_payload == first.request_payload
        await good.ack(again)
        await good.send(pb.WORKER_REPLY, good.reply(again, {"by": "good"}))
        run = await run_done(engine_api, event_id)
        assert run["status"] == "Completed", run
        assert run["output"] == {"by": "good"}
        stats = engine_api.http.get("/v1/stats").json()["data"]["connect"]
        assert stats["resent"] == resent + 1
    finally:
        await good.close()


async def test_a_reply_flushed_over_http_after_the_socket_dropped(engine_api: EngineAPI) -> None:
    app = raw_app("flush")
    worker = RawWorker(engine_api, app, ["f"])
    await worker.open()
    event_id = post_event(engine_api, f"{app}/f")
    req = await worker.next_request()
    await worker.ack(req)
    await worker.close()  # took the call; the reply goes by HTTP instead
    resp = engine_api.http.post(
        "/v0/connect/flush",
        content=RawWorker.reply(req, "flushed"),
        headers={"content-type": "application/protobuf"},
    )
    assert resp.status_code == 200, resp.text
    assert pb.FlushResponse.FromString(resp.content).request_id == req.request_id
    run = await run_done(engine_api, event_id)
    assert run["status"] == "Completed", run
    assert run["output"] == "flushed"


async def test_a_call_taken_before_a_reconnect_is_answered_on_the_new_socket(
    engine_api: EngineAPI,
) -> None:
    app = raw_app("rehome")
    old, new = RawWorker(engine_api, app, ["f"]), RawWorker(engine_api, app, ["f"])
    try:
        await old.open()
        event_id = post_event(engine_api, f"{app}/f")
        req = await old.next_request()
        await old.ack(req)
        await old.close()  # the SDK keeps running the call and reconnects
        await new.open()
        extend = pb.WorkerRequestExtendLeaseData(request_id=req.request_id, lease_id=req.lease_id)
        await new.send(pb.WORKER_REQUEST_EXTEND_LEASE, extend.SerializeToString())
        ack = pb.WorkerRequestExtendLeaseAckData.FromString((await new.recv()).payload)
        assert ack.new_lease_id  # refused, the SDK would cancel the call
        await new.send(pb.WORKER_REPLY, new.reply(req, "after reconnect"))
        run = await run_done(engine_api, event_id)
        assert run["status"] == "Completed", run
        assert run["output"] == "after reconnect"
    finally:
        await new.close()


async def test_every_reply_is_acknowledged_and_a_heartbeat_answered(engine_api: EngineAPI) -> None:
    async with connected(engine_api, "ack") as worker:
        await worker.send(pb.WORKER_HEARTBEAT, b"")
        assert (await worker.recv()).kind == pb.GATEWAY_HEARTBEAT
        event_id = post_event(engine_api, f"{worker.app_name}/f")
        req = await worker.next_request()
        await worker.ack(req)
        await worker.send(pb.WORKER_REPLY, worker.reply(req, 1))
        frame = await worker.recv()
        assert frame.kind == pb.WORKER_REPLY_ACK
        assert pb.WorkerReplyAckData.FromString(frame.payload).request_id == req.request_id
        assert (await run_done(engine_api, event_id))["status"] == "Completed"


async def test_done_with_no_retry_is_a_non_retriable_error(engine_api: EngineAPI) -> None:
    """How the TypeScript SDK answers a NonRetriableError over Connect (HTTP 400 -> DONE)."""
    async with connected(engine_api, "noretry") as worker:
        event_id = post_event(engine_api, f"{worker.app_name}/f")
        req = await worker.next_request()
        error = {"name": "NonRetriableError", "message": "give up"}
        reply = pb.SDKResponse(
            request_id=req.request_id,
            status=pb.DONE,
            no_retry=True,
            body=json.dumps(error).encode(),
        )
        await worker.send(pb.WORKER_REPLY, reply.SerializeToString())
        run = await run_done(engine_api, event_id)
        assert run["status"] == "Failed", run
        assert run["output"]["message"] == "give up"


async def test_a_lease_is_extended_only_for_a_call_in_flight(engine_api: EngineAPI) -> None:
    async with connected(engine_api, "lease") as worker:
        event_id = post_event(engine_api, f"{worker.app_name}/f")
        req = await worker.next_request()
        await worker.ack(req)
        for request_id in (req.request_id, "not-a-request"):
            extend = pb.WorkerRequestExtendLeaseData(request_id=request_id, lease_id=req.lease_id)
            await worker.send(pb.WORKER_REQUEST_EXTEND_LEASE, extend.SerializeToString())
            frame = await worker.recv()
            assert frame.kind == pb.WORKER_REQUEST_EXTEND_LEASE_ACK
            ack = pb.WorkerRequestExtendLeaseAckData.FromString(frame.payload)
            assert ack.request_id == request_id
            if request_id == req.request_id:
                assert ack.new_lease_id and ack.new_lease_id != req.lease_id
            else:
                assert not ack.HasField("new_lease_id")
        await worker.send(pb.WORKER_REPLY, worker.reply(req, 1))
        assert (await run_done(engine_api, event_id))["status"] == "Completed"


async def test_a_paused_worker_gets_no_new_calls(engine_api: EngineAPI) -> None:
    app = raw_app("pause")
    paused, active = RawWorker(engine_api, app, ["f"]), RawWorker(engine_api, app, ["f"])
    try:
        await paused.open()
        await active.open()
        await paused.send(pb.WORKER_PAUSE, b"")
        await asyncio.sleep(0.2)
        events = [post_event(engine_api, f"{app}/f", {"i": i}) for i in range(3)]
        for _ in events:
            req = await active.next_request()
            await active.ack(req)
            await active.send(pb.WORKER_REPLY, active.reply(req, "active"))
        for event_id in events:
            assert (await run_done(engine_api, event_id))["output"] == "active"
        with pytest.raises(TimeoutError):
            await paused.next_request(within_s=0.5)
    finally:
        await paused.close()
        await active.close()


async def test_max_worker_concurrency_is_honoured(engine_api: EngineAPI) -> None:
    async with connected(engine_api, "max", max_worker_concurrency=1) as worker:
        first_event, second_event = (
            post_event(engine_api, f"{worker.app_name}/f") for _ in range(2)
        )
        first = await worker.next_request()
        with pytest.raises(TimeoutError):  # one call at a time
            await worker.next_request(within_s=0.5)
        await worker.ack(first)
        await worker.send(pb.WORKER_REPLY, worker.reply(first, 1))
        second = await worker.next_request()
        assert second.request_id != first.request_id
        await worker.send(pb.WORKER_REPLY, worker.reply(second, 2))
        for event_id in (first_event, second_event):
            assert (await run_done(engine_api, event_id))["status"] == "Completed"


async def test_a_worker_that_says_when_it_is_ready_waits_for_its_word(
    engine_api: EngineAPI,
) -> None:
    async with connected(engine_api, "ready", worker_manual_readiness_ack=True) as worker:
        event_id = post_event(engine_api, f"{worker.app_name}/f")
        with pytest.raises(TimeoutError):
            await worker.next_request(within_s=0.5)
        await worker.send(pb.WORKER_READY, b"")
        req = await worker.next_request()
        await worker.send(pb.WORKER_REPLY, worker.reply(req, "ready"))
        assert (await run_done(engine_api, event_id))["output"] == "ready"


async def test_max_worker_concurrency_below_one_is_refused(engine_api: EngineAPI) -> None:
    worker = RawWorker(engine_api, raw_app("zero"), ["f"], max_worker_concurrency=0)
    try:
        closed = await worker.open()
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert "max_worker_concurrency must be at least 1" in closed.extra
        apps = [a["name"] for a in engine_api.http.get("/v1/apps").json()["data"]]
        assert worker.app_name not in apps
    finally:
        await worker.close()


async def test_a_frame_of_unknown_kind_leaves_the_socket_working(engine_api: EngineAPI) -> None:
    async with connected(engine_api, "unknown") as worker:
        await worker.send(99, b"from a newer SDK")
        event_id = post_event(engine_api, f"{worker.app_name}/f")
        req = await worker.next_request()
        await worker.send(pb.WORKER_REPLY, worker.reply(req, "still here"))
        assert (await run_done(engine_api, event_id))["output"] == "still here"


async def test_an_unknown_session_token_is_refused(engine_api: EngineAPI) -> None:
    worker = RawWorker(engine_api, raw_app("token"), ["f"])
    try:
        closed = await worker.open(token="forged")
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert "unknown session" in closed.extra
        apps = [a["name"] for a in engine_api.http.get("/v1/apps").json()["data"]]
        assert worker.app_name not in apps  # nothing was synced
    finally:
        await worker.close()


async def test_a_socket_without_the_subprotocol_is_refused(engine_api: EngineAPI) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{engine_api.url}/v0/connect/gateway", protocols=("x",))
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE  # closed instead of a hello
        assert SUBPROTOCOL in msg.extra


async def test_a_first_frame_that_is_not_worker_connect_is_refused(engine_api: EngineAPI) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{engine_api.url}/v0/connect/gateway", protocols=(SUBPROTOCOL,)
        )
        assert pb.ConnectMessage.FromString((await ws.receive()).data).kind == pb.GATEWAY_HELLO
        await ws.send_bytes(b"\xff\xff not protobuf")
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert "expected WORKER_CONNECT" in msg.extra
    assert engine_api.http.get("/health").status_code == 200


async def test_a_bad_function_config_fails_the_sync_and_says_why(engine_api: EngineAPI) -> None:
    worker = RawWorker(engine_api, raw_app("bad"), ["f"])
    worker.functions = lambda: [{"id": "x", "triggers": []}]  # type: ignore[method-assign]
    try:
        frame = await worker.open()
        assert frame.kind == pb.SYNC_FAILED
        failure = pb.SystemError.FromString(frame.payload)
        assert failure.code == "sync_failed"
        assert "function 'x': steps: must contain" in failure.message
        assert (await worker.recv()).type == aiohttp.WSMsgType.CLOSE
    finally:
        await worker.close()


def test_a_bad_start_request_is_refused(engine_api: EngineAPI) -> None:
    resp = engine_api.http.post("/v0/connect/start", content=b"\xff\xff\xff")
    assert resp.status_code == 400
    assert "StartRequest" in resp.json()["error"]


# -- restarts ----------------------------------------------------------------------------------


def napper(c: inngest.Inngest, ran: Ran) -> inngest.Function[Any]:
    @c.create_function(
        fn_id="napper", trigger=inngest.TriggerEvent(event=f"{c.app_id}/nap"), retries=0
    )
    async def fn(ctx: inngest.Context) -> str:
        async def body(name: str) -> str:
            ran.note(f"{ctx.run_id}:{name}")
            return name

        await ctx.step.run("before", body, "before")
        await ctx.step.sleep("nap", datetime.timedelta(seconds=ctx.event.data["nap_s"]))
        return await ctx.step.run("after", body, "after")

    return fn


def wait_asleep(engine: EngineAPI, event_id: str, ran: Ran) -> str:
    run_id = poll(lambda: engine.event_runs(event_id), what="the napper's run")[0]["run_id"]
    poll(lambda: ran.count(f"{run_id}:before"), what="the step before the nap")
    time.sleep(0.3)  # the call after the step answers with the sleep (no step row until it ends)
    return str(run_id)


def test_a_run_finishes_on_the_worker_that_replaced_its_first(engine_api: EngineAPI) -> None:
    c, ran = client(engine_api, "restart"), Ran()
    fn = napper(c, ran)
    with ConnectWorker([(c, [fn])]).running():
        event_id = send(c, "nap", {"nap_s": 1.5})
        run_id = wait_asleep(engine_api, event_id, ran)
    # no worker while the run sleeps; a new one (a new process, in real life) takes over
    with ConnectWorker([(c, [fn])]).running():
        run = run_of(engine_api, event_id, timeout=30)
    assert run["status"] == "Completed", run["output"]
    assert [ran.count(f"{run_id}:{s}") for s in ("before", "after")] == [1, 1]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_worker_follows_the_engine_across_a_kill(tmp_path: Any) -> None:
    engine = EngineProcess(tmp_path)
    engine.start()
    api = EngineAPI(engine.url)
    c, ran = client(api, "engine-kill"), Ran()
    try:
        with ConnectWorker([(c, [napper(c, ran)])]).running():
            event_id = send(c, "nap", {"nap_s": 1})
            run_id = wait_asleep(api, event_id, ran)
            assert engine._proc is not None
            engine._proc.kill()  # SIGKILL: no GATEWAY_CLOSING, the socket just drops
            engine._proc.wait(timeout=10)
            engine.start()  # same port and database
            run = run_of(api, event_id, timeout=60)
        assert run["status"] == "Completed", run  # retries=0: the reconnect cost no attempt
        assert [ran.count(f"{run_id}:{s}") for s in ("before", "after")] == [1, 1]
    finally:
        api.close()
        engine.stop()
