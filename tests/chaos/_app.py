"""The SDK app under chaos: real `inngest` 0.5.19 functions served by FastAPI under uvicorn in a
thread of the test process, plus the two records the checks are built on.

- `Journal`: every execution of a step's code appends one `Execution` (run id, step name, a fresh
  nonce, the attempt, the start time, and the step values the function had seen before it). A
  step's nonce is its return value, so the value the engine saved tells which execution it kept.
- `CallLog`: an ASGI middleware recording each engine -> SDK call (run id, stepId, the engine's
  boot id header, arrival and end times), used to bound how many calls a kill can have caught in
  flight. Each `Execution` carries the boot id and arrival time of the call that ran it; the boot
  id tells which engine life sent that call.
- `SdkServer.settle()`: requests the engine wrote just before it died may reach the middleware a
  little later (the SDK's loop accepts a connection, reads it, then starts the ASGI task, one
  round each; the runs show such late calls). After a kill the test lets the SDK's loop go round
  five times before it spawns the next engine, so most such calls arrive while no engine runs
  (counted as `late_calls`); attribution does not depend on it (the boot id does that).

Functions (app id `chaos`; one event name per scenario, `chaos/burst` starts two functions):

| function | trigger            | steps                                                            |
|----------|--------------------|------------------------------------------------------------------|
| seq      | chaos/burst        | s0 .. s7 in sequence; returns the 8 nonces it saw                 |
| par      | chaos/burst        | p0 .. p3 in `group.parallel`, then `after`                        |
| sleepy   | chaos/sleep        | before, sleep 1.5 s, after                                       |
| waiter   | chaos/wait         | pre, wait_for_event(chaos/release, same key), post               |
| flaky    | chaos/flaky        | prep, once (raises on attempt 0, succeeds on the retry)          |
| parent   | chaos/invoke       | a, invoke(child), b                                              |
| child    | (invoked only)     | c0, c1                                                           |
| tick     | cron `* * * * *`   | t0; returns the tick's scheduledAt                               |
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime
import logging
import random
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import fastapi
import inngest
import inngest.fast_api
import uvicorn

APP_ID = "chaos"
SLEEP_S = 1.5
CHILD_WORK_S = 0.4  # the child's steps are slower, so kills find parents waiting on it
SEQ_STEPS = 8
PAR_STEPS = 4

# Which functions each scenario's event starts (the child and the cron are not started by events).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "burst": ("seq", "par"),
    "sleep": ("sleepy",),
    "wait": ("waiter",),
    "flaky": ("flaky",),
    "invoke": ("parent",),
}

# Step order inside each function: every execution of the first step of a pair must start before
# any execution of the second (the second only runs once the first one's result has been saved).
ORDER: dict[str, list[tuple[str, str]]] = {
    "seq": [(f"s{i}", f"s{i + 1}") for i in range(SEQ_STEPS - 1)],
    "par": [(f"p{i}", "after") for i in range(PAR_STEPS)],
    "sleepy": [("before", "after")],
    "waiter": [("pre", "post")],
    "flaky": [("prep", "once")],
    "parent": [("a", "b")],
    "child": [("c0", "c1")],
    "tick": [],
}
STEPS: dict[str, tuple[str, ...]] = {
    "seq": tuple(f"s{i}" for i in range(SEQ_STEPS)),
    "par": (*(f"p{i}" for i in range(PAR_STEPS)), "after"),
    "sleepy": ("before", "after"),
    "waiter": ("pre", "post"),
    "flaky": ("prep", "once"),
    "parent": ("a", "b"),
    "child": ("c0", "c1"),
    "tick": ("t0",),
}


def slug(fn_id: str) -> str:
    return f"{APP_ID}-{fn_id}"


@dataclasses.dataclass(frozen=True)
class Execution:
    run_id: str
    step: str
    nonce: str | None  # None: this execution raised (the flaky step's first attempt)
    attempt: int
    started: float
    seen: tuple[str, ...]  # values of earlier steps that the function passed in
    call_arrived: float | None  # when the call that ran it reached the SDK (None: unknown)
    boot: str = ""  # the engine process that sent that call (its x-loopwright-engine-boot)


def execution(
    ctx: inngest.Context, step: str, nonce: str | None, seen: list[str] | tuple[Any, ...]
) -> Execution:
    call = CURRENT_CALL.get()
    arrived = call.arrived if call is not None else None
    boot = call.boot if call is not None else ""
    return Execution(ctx.run_id, step, nonce, ctx.attempt, time.time(), tuple(seen), arrived, boot)


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Execution] = []

    def record(self, execution: Execution) -> None:
        with self._lock:
            self._items.append(execution)

    def executions(self) -> list[Execution]:
        with self._lock:
            return list(self._items)


@dataclasses.dataclass
class Call:
    run_id: str
    fn_id: str
    step_id: str
    arrived: float
    boot: str = ""  # x-loopwright-engine-boot: which engine process sent the call
    ended: float | None = None
    status: int | None = None


CURRENT_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "chaos_call", default=None
)


class CallLog:
    """ASGI middleware: records every POST the engine makes to the SDK."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode())
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        call = Call(
            run_id=headers.get("x-run-id", ""),
            fn_id=query.get("fnId", [""])[0],
            step_id=query.get("stepId", [""])[0],
            arrived=time.time(),
            boot=headers.get("x-loopwright-engine-boot", ""),
        )
        with self._lock:
            self._calls.append(call)
        CURRENT_CALL.set(call)

        async def record(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                call.status = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, record)
        finally:
            call.ended = time.time()


def build_functions(client: inngest.Inngest, journal: Journal) -> list[inngest.Function[Any]]:
    def step(
        ctx: inngest.Context,
        name: str,
        seen: list[str] | tuple[Any, ...] = (),
        work_s: float = 0.05,
    ) -> Any:
        """`step.run(name)` whose code journals its execution, works a little (so that kills
        catch calls in flight) and returns a fresh nonce."""

        async def body() -> str:
            nonce = secrets.token_hex(8)
            journal.record(execution(ctx, name, nonce, seen))
            await asyncio.sleep(random.uniform(0.0, work_s))
            return nonce

        return ctx.step.run(name, body)

    def on(event: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=f"chaos/{event}")

    @client.create_function(fn_id="seq", trigger=on("burst"), retries=3)
    async def seq(ctx: inngest.Context) -> dict[str, Any]:
        nonces: list[str] = []
        for i in range(SEQ_STEPS):
            nonces.append(await step(ctx, f"s{i}", list(nonces)))
        return {"key": ctx.event.data["key"], "nonces": nonces}

    @client.create_function(fn_id="par", trigger=on("burst"), retries=3)
    async def par(ctx: inngest.Context) -> dict[str, Any]:
        group = tuple((lambda i=i: step(ctx, f"p{i}")) for i in range(PAR_STEPS))
        results = list(await ctx.group.parallel(group))
        after = await step(ctx, "after", results)
        return {"key": ctx.event.data["key"], "par": results, "after": after}

    @client.create_function(fn_id="sleepy", trigger=on("sleep"), retries=3)
    async def sleepy(ctx: inngest.Context) -> dict[str, Any]:
        before = await step(ctx, "before")
        await ctx.step.sleep("nap", datetime.timedelta(seconds=SLEEP_S))
        after = await step(ctx, "after", [before])
        return {"key": ctx.event.data["key"], "before": before, "after": after}

    @client.create_function(fn_id="waiter", trigger=on("wait"), retries=3)
    async def waiter(ctx: inngest.Context) -> dict[str, Any]:
        pre = await step(ctx, "pre")
        got = await ctx.step.wait_for_event(
            "gate",
            event="chaos/release",
            if_exp="async.data.key == event.data.key",
            timeout=datetime.timedelta(minutes=10),
        )
        post = await step(ctx, "post", [pre])
        released = None if got is None else got.data.get("key")
        return {"key": ctx.event.data["key"], "pre": pre, "released": released, "post": post}

    @client.create_function(fn_id="flaky", trigger=on("flaky"), retries=3)
    async def flaky(ctx: inngest.Context) -> dict[str, Any]:
        prep = await step(ctx, "prep")

        async def once() -> str:
            nonce = None if ctx.attempt == 0 else secrets.token_hex(8)
            journal.record(execution(ctx, "once", nonce, [prep]))
            if nonce is None:
                raise RuntimeError("flaky: fails on attempt 0, succeeds on the retry")
            return nonce

        done = await ctx.step.run("once", once)
        return {"key": ctx.event.data["key"], "prep": prep, "once": done}

    @client.create_function(fn_id="child", trigger=on("never"), retries=3)
    async def child(ctx: inngest.Context) -> dict[str, Any]:
        c0 = await step(ctx, "c0", work_s=CHILD_WORK_S)
        c1 = await step(ctx, "c1", [c0], work_s=CHILD_WORK_S)
        return {"key": ctx.event.data["key"], "nonces": [c0, c1]}

    @client.create_function(fn_id="parent", trigger=on("invoke"), retries=3)
    async def parent(ctx: inngest.Context) -> dict[str, Any]:
        a = await step(ctx, "a")
        res = await ctx.step.invoke("call", function=child, data={"key": ctx.event.data["key"]})
        b = await step(ctx, "b", [a])
        return {"key": ctx.event.data["key"], "a": a, "child": res, "b": b}

    @client.create_function(fn_id="tick", trigger=inngest.TriggerCron(cron="* * * * *"))
    async def tick(ctx: inngest.Context) -> dict[str, Any]:
        t0 = await step(ctx, "t0")
        return {"tick": ctx.event.data["scheduledAt"], "t0": t0}

    return [seq, par, sleepy, waiter, flaky, child, parent, tick]


class SdkServer:
    """The chaos app on a free loopback port, served by uvicorn on its own loop in a thread."""

    def __init__(self, engine_url: str) -> None:
        self.journal = Journal()
        self.client = inngest.Inngest(
            app_id=APP_ID,
            is_production=False,
            api_base_url=engine_url,
            event_api_base_url=engine_url,
            logger=logging.getLogger("chaos.sdk"),
        )
        api = fastapi.FastAPI()
        inngest.fast_api.serve(api, self.client, build_functions(self.client, self.journal))
        self.call_log = CallLog(api)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.serve_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/api/inngest"
        self._loop: asyncio.AbstractEventLoop | None = None

    def settle(self, rounds: int = 5) -> None:
        """Let the SDK's loop go round `rounds` times (each round polls its sockets)."""
        assert self._loop is not None
        for _ in range(rounds):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result(timeout=5)
            time.sleep(0.01)

    @contextlib.contextmanager
    def running(self) -> Iterator[SdkServer]:
        config = uvicorn.Config(
            self.call_log, log_level="error", lifespan="off", timeout_graceful_shutdown=2,
            backlog=2048,
        )  # fmt: skip
        server = uvicorn.Server(config)
        factory = config.get_loop_factory() or asyncio.new_event_loop
        self._loop = factory()

        def serve() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(server.serve(sockets=[self._sock]))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.01)
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            self._loop.close()
            self._sock.close()
