"""The SDK app every benchmark drives: the official `inngest` SDK served by FastAPI under uvicorn.

It runs in its own process (``python bench/_app.py --port P --engine URL``), never in the
engine's, so the engine's event loop and the SDK's never share a GIL.

Functions (app id ``bench``; event names ``bench/<short>``):

- ``seq`` / ``seq-sync``: ``event.data.n`` sequential trivial steps ``s0 .. s{n-1}``, async or
  sync handler. Each step body stamps ``time.monotonic_ns()`` (CLOCK_MONOTONIC is system-wide on
  Linux, so it is comparable with the driver's clock) and returns it. After the last step the
  run bumps the counter ``seq-done`` / ``seq-sync-done`` and marks ``done:<tag>``.
- ``index``: like ``seq``, and at the step indices listed in ``event.data.probes`` it marks
  ``cpu:<tag>:<i>`` with the CPU time (ns, all threads) of the engine (``event.data.engine_pid``)
  and of the app itself, so per-step CPU cost can be compared between early and late steps.
  With ``event.data.pad_ms`` (timing mode on) each step body waits until its call has been in
  the app that long, so the engine idles as long between early steps as between late ones.
- ``first``: one step whose first statement marks ``first:<tag>`` with the time it started.
- ``sleeper``: one step (bumps ``sleeper-step``), then ``step.sleep`` for ``event.data.sleep_s``.
- ``once``: one step, then returns (bumps ``once-done``).

Instrumentation lives in `Probe`, a raw ASGI middleware in front of FastAPI, so that it costs
nothing measurable on the SDK path when it is off:

- capture mode keeps the exact request (query string, headers, body) of every SDK call, which the
  baselines later replay byte for byte straight at the SDK endpoint;
- timing mode records, per SDK call, the X-Run-ID header, the time the ASGI app was entered and
  the time the last response byte was handed to uvicorn;
- with ``--connect`` the SDK's calls arrive over an Inngest Connect socket (``inngest.connect``,
  a thread of the SDK's own) and the HTTP server only answers ``/bench/*``;
- ``/bench/*`` routes (handled here, not by FastAPI): ``POST /bench/reset?capture=0|1&timings=0|1``,
  ``GET /bench/dump?what=captured|timings|steps|marks|counters``, and the long-poll
  ``GET /bench/wait?key=K`` or ``?counter=C&n=N`` (``&timeout=S``), which sends its response
  headers at once (so the caller knows the waiter exists before it triggers anything) and its
  body when the mark appears or the counter reaches ``n``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import datetime
import logging
import os
import time
import urllib.parse
from collections import defaultdict
from typing import Any

import fastapi
import inngest
import inngest.fast_api
import orjson
import uvicorn

SERVE_PATH = "/api/inngest"
# When the current SDK call entered the app (timing mode): `index` pads its calls from it.
CALL_ENTERED_NS: contextvars.ContextVar[int] = contextvars.ContextVar("call_entered", default=0)
APP_ID = "bench"


def _runtime() -> dict[str, str]:
    """What uvicorn's "auto" settings resolve to here (reported by every benchmark)."""
    out = {"http": "h11", "loop": "asyncio"}
    try:
        import httptools  # noqa: F401

        out["http"] = "httptools"
    except ImportError:
        pass
    try:
        import uvloop  # noqa: F401

        out["loop"] = "uvloop"
    except ImportError:
        pass
    return out


RUNTIME = _runtime()


class Probe:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.capture = False
        self.timings_on = False
        self.captured: list[dict[str, Any]] = []
        self.timings: list[tuple[str, int, int]] = []
        self.steps: list[tuple[str, int]] = []
        self.marks: dict[str, Any] = {}
        self.counters: defaultdict[str, int] = defaultdict(int)
        self._key_waiters: defaultdict[str, list[asyncio.Future[Any]]] = defaultdict(list)
        self._count_waiters: list[tuple[str, int, asyncio.Future[Any]]] = []

    # -- recording (called from user code; async handlers run on the loop, sync ones in threads)

    def reset(self, capture: bool, timings: bool) -> None:
        self.capture, self.timings_on = capture, timings
        self.captured, self.timings, self.steps = [], [], []
        self.marks.clear()
        self.counters.clear()

    def step(self, run_id: str) -> int:
        t = time.monotonic_ns()
        self.steps.append((run_id, t))
        return t

    def mark(self, key: str, value: Any) -> None:
        self.marks[key] = value
        for fut in self._key_waiters.pop(key, []):
            if not fut.done():
                fut.set_result(value)

    def bump(self, counter: str) -> None:
        self.counters[counter] += 1
        n = self.counters[counter]
        keep = []
        for name, target, fut in self._count_waiters:
            if name == counter and n >= target:
                if not fut.done():
                    fut.set_result(n)
            else:
                keep.append((name, target, fut))
        self._count_waiters = keep

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/bench/"):
            await self._bench(scope, receive, send)
            return
        if scope["method"] != "POST" or not (self.capture or self.timings_on):
            await self.app(scope, receive, send)
            return
        t_in = time.monotonic_ns()
        CALL_ENTERED_NS.set(t_in)
        run_id = ""
        for name, value in scope["headers"]:
            if name == b"x-run-id":
                run_id = value.decode()
        if self.capture:
            body = b""
            more = True
            while more:
                msg = await receive()
                body += msg.get("body", b"")
                more = msg.get("more_body", False)
            self.captured.append(
                {
                    "path": path,
                    "query": scope["query_string"].decode(),
                    "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                    "body": body.decode(),
                }
            )
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay
        t_out = 0

        async def timed_send(msg: Any) -> None:
            nonlocal t_out
            await send(msg)
            if msg["type"] == "http.response.body" and not msg.get("more_body", False):
                t_out = time.monotonic_ns()

        await self.app(scope, receive, timed_send)
        if self.timings_on:
            self.timings.append((run_id, t_in, t_out))

    async def _bench(self, scope: Any, receive: Any, send: Any) -> None:
        query = dict(urllib.parse.parse_qsl(scope["query_string"].decode()))
        path = scope["path"]
        headers = [(b"content-type", b"application/json")]
        if path == "/bench/reset":
            self.reset(query.get("capture") == "1", query.get("timings") == "1")
            payload: Any = {"ok": True, "pid": os.getpid(), **RUNTIME}
        elif path == "/bench/dump":
            what = query.get("what", "")
            payload = {
                "captured": lambda: self.captured,
                "timings": lambda: self.timings,
                "steps": lambda: self.steps,
                "marks": lambda: self.marks,
                "counters": lambda: dict(self.counters),
            }.get(what, lambda: None)()
        elif path == "/bench/wait":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            timeout = float(query.get("timeout", "60"))
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            if "key" in query:
                key = query["key"]
                if key in self.marks:
                    fut.set_result(self.marks[key])
                else:
                    self._key_waiters[key].append(fut)
            else:
                counter, target = query["counter"], int(query["n"])
                if self.counters[counter] >= target:
                    fut.set_result(self.counters[counter])
                else:
                    self._count_waiters.append((counter, target, fut))
            try:
                value = await asyncio.wait_for(fut, timeout)
                body = orjson.dumps({"ok": True, "value": value})
            except TimeoutError:
                body = orjson.dumps({"ok": False, "value": None})
            await send({"type": "http.response.body", "body": body})
            return
        else:
            payload = {"error": "unknown bench route"}
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})


PROBE: Probe


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of a process, in ns (/proc/PID/task/*/schedstat)."""
    total = 0
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def build(engine_url: str) -> tuple[inngest.Inngest, list[inngest.Function[Any]]]:
    log = logging.getLogger("bench.app")
    log.setLevel(logging.WARNING)
    client = inngest.Inngest(
        app_id=APP_ID,
        is_production=False,
        api_base_url=engine_url,
        event_api_base_url=engine_url,
        logger=log,
    )

    def trigger(short: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=f"{APP_ID}/{short}")

    @client.create_function(fn_id="seq", trigger=trigger("seq"), retries=0)
    async def seq(ctx: inngest.Context) -> int:
        run_id = ctx.run_id

        async def stamp() -> int:
            return PROBE.step(run_id)

        n = int(ctx.event.data["n"])
        for i in range(n):
            await ctx.step.run(f"s{i}", stamp)
        PROBE.bump("seq-done")
        PROBE.mark(f"done:{ctx.event.data.get('tag', '')}", time.monotonic_ns())
        return n

    @client.create_function(fn_id="seq-sync", trigger=trigger("seq-sync"), retries=0)
    def seq_sync(ctx: inngest.ContextSync) -> int:
        run_id = ctx.run_id

        def stamp() -> int:
            return PROBE.step(run_id)

        n = int(ctx.event.data["n"])
        for i in range(n):
            ctx.step.run(f"s{i}", stamp)
        tag = f"done:{ctx.event.data.get('tag', '')}"
        loop.call_soon_threadsafe(PROBE.bump, "seq-sync-done")
        loop.call_soon_threadsafe(PROBE.mark, tag, time.monotonic_ns())
        return n

    @client.create_function(fn_id="index", trigger=trigger("index"), retries=0)
    async def index(ctx: inngest.Context) -> int:
        data = ctx.event.data
        tag, pid = str(data["tag"]), int(data["engine_pid"])
        probes = {int(i) for i in data["probes"]}

        pad_ns = int(float(data.get("pad_ms", 0)) * 1e6)

        def probe(i: int) -> Any:
            async def body() -> int:
                if i in probes:
                    PROBE.mark(f"cpu:{tag}:{i}", [cpu_ns(pid), cpu_ns(os.getpid())])
                if pad_ns:  # every call takes the same time, however long its replay was
                    entered = CALL_ENTERED_NS.get()
                    if not entered:
                        raise RuntimeError("pad_ms needs timing mode: /bench/reset?timings=1")
                    left = entered + pad_ns - time.monotonic_ns()
                    await asyncio.sleep(max(0, left) / 1e9)
                return PROBE.step(ctx.run_id)

            return body

        n = int(data["n"])
        for i in range(n):
            await ctx.step.run(f"s{i}", probe(i))
        PROBE.mark(f"done:{tag}", time.monotonic_ns())
        return n

    @client.create_function(fn_id="first", trigger=trigger("first"), retries=0)
    async def first(ctx: inngest.Context) -> int:
        tag = str(ctx.event.data.get("tag", ""))

        async def body() -> int:
            t = time.monotonic_ns()
            PROBE.mark(f"first:{tag}", t)
            return t

        return await ctx.step.run("first", body)

    @client.create_function(fn_id="sleeper", trigger=trigger("sleeper"), retries=0)
    async def sleeper(ctx: inngest.Context) -> str:
        async def body() -> int:
            PROBE.bump("sleeper-step")
            return 1

        await ctx.step.run("a", body)
        await ctx.step.sleep("nap", datetime.timedelta(seconds=float(ctx.event.data["sleep_s"])))
        PROBE.bump("sleeper-done")
        return "woke"

    @client.create_function(fn_id="once", trigger=trigger("once"), retries=0)
    async def once(ctx: inngest.Context) -> int:
        async def body() -> int:
            return 1

        out = await ctx.step.run("a", body)
        PROBE.bump("once-done")
        return out

    return client, [seq, seq_sync, index, first, sleeper, once]


loop: asyncio.AbstractEventLoop


def main() -> None:
    global PROBE, loop
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument(
        "--connect",
        action="store_true",
        help="take calls over an Inngest Connect socket (inngest.connect), not over HTTP",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    api = fastapi.FastAPI()
    client, functions = build(args.engine)
    inngest.fast_api.serve(api, client, functions, serve_path=SERVE_PATH)
    PROBE = Probe(api)
    config = uvicorn.Config(
        PROBE,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
        timeout_keep_alive=120,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        global loop
        loop = asyncio.get_running_loop()
        if args.connect:
            from inngest.connect import connect

            worker = connect([(client, functions)], shutdown_signals=[])
            task = loop.create_task(worker.start())

            def ended(t: asyncio.Task[None]) -> None:
                if not t.cancelled() and t.exception() is not None:
                    logging.error("the Connect worker stopped: %r", t.exception())

            task.add_done_callback(ended)
        await server.serve()

    # uvicorn's own runner picks uvloop when installed ("loop=auto"); mirror that here.
    if RUNTIME["loop"] == "uvloop":
        import uvloop

        uvloop.run(serve())
    else:
        asyncio.run(serve())


if __name__ == "__main__":
    main()
