"""The SDK app under chaos: real `inngest` 0.5.19 functions served by FastAPI under uvicorn in a
process of its own (`python -m tests.chaos._app`, so the test can kill -9 it too; `_sdk_process.py`
starts, kills and restarts it), plus the two records the checks are built on, kept as JSON-line
files in the session's directory that every app life appends to.

- `Journal`: every execution of a step's code appends one `Execution` (run id, step name, a fresh
  nonce, the attempt, the start time, the step values the function had seen before it, and the
  app life that ran it). A step's nonce is its return value, so the value the engine saved tells
  which execution it kept.
- `CallLog`: an ASGI middleware recording each engine -> SDK call (run id, stepId, the engine's
  boot id header, arrival and end times, app life), used to bound how many calls a kill can have
  caught in flight; a call open at an app kill has no end. Each `Execution` carries the boot id
  and arrival time of the call that ran it; the boot id tells which engine life sent that call.

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

import argparse
import asyncio
import contextvars
import dataclasses
import datetime
import itertools
import json
import logging
import os
import pathlib
import random
import secrets
import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import fastapi
import inngest
import inngest.fast_api
import uvicorn

APP_ID = "chaos"
JOURNAL_FILE = "journal.jsonl"
CALLS_FILE = "calls.jsonl"
APP_LIFE = 0  # this process's life, set by main()
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
    app_life: int = 0  # the app process that ran it (`SdkProcess` restarts it after a kill)
    call_seq: int = -1  # that call's number within the app life (`Call.seq`)


def execution(
    ctx: inngest.Context, step: str, nonce: str | None, seen: list[str] | tuple[Any, ...]
) -> Execution:
    call = CURRENT_CALL.get()
    arrived = call.arrived if call is not None else None
    boot = call.boot if call is not None else ""
    seq = call.seq if call is not None else -1
    return Execution(ctx.run_id, step, nonce, ctx.attempt, time.time(), tuple(seen), arrived, boot,
                     APP_LIFE, seq)  # fmt: skip


class Journal:
    """Appends each execution as one JSON line with one write(2): a kill -9 of the app process
    loses nothing written (the kernel has it), at worst it cuts the line being written."""

    def __init__(self, path: pathlib.Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, execution: Execution) -> None:
        os.write(self._fd, json.dumps(dataclasses.asdict(execution)).encode() + b"\n")


def read_executions(path: pathlib.Path) -> list[Execution]:
    out = []
    for record in _json_lines(path):
        record["seen"] = tuple(record["seen"])
        out.append(Execution(**record))
    return out


def _json_lines(path: pathlib.Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_bytes().split(b"\n"):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError:
                continue  # the line an app kill cut short


@dataclasses.dataclass
class Call:
    run_id: str
    fn_id: str
    step_id: str
    arrived: float
    boot: str = ""  # x-loopwright-engine-boot: which engine process sent the call
    ended: float | None = None
    status: int | None = None
    app_life: int = 0  # the app process that received it
    seq: int = 0  # its number within that process


CURRENT_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "chaos_call", default=None
)


class CallLog:
    """ASGI middleware: records every POST the engine makes to the SDK, as JSON lines (one on
    arrival, one when the answer has been sent), so calls open at an app kill have no end."""

    def __init__(self, app: Any, path: pathlib.Path) -> None:
        self.app = app
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._seq = itertools.count()

    def _write(self, record: dict[str, Any]) -> None:
        os.write(self._fd, json.dumps(record).encode() + b"\n")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/chaos/pid":
            # Which life answered: two lives share the port while one replaces the other.
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
            return
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
            app_life=APP_LIFE,
            seq=next(self._seq),
        )
        self._write(dataclasses.asdict(call))
        CURRENT_CALL.set(call)

        async def record(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                call.status = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, record)
        finally:
            self._write({"end": call.seq, "life": APP_LIFE, "ended": time.time(),
                         "status": call.status})  # fmt: skip


def read_calls(path: pathlib.Path) -> list[Call]:
    """Every call recorded by every app life; `ended` is None for calls open at an app kill."""
    calls: dict[tuple[int, int], Call] = {}
    for record in _json_lines(path):
        if "end" in record:
            call = calls.get((record["life"], record["end"]))
            if call is not None:
                call.ended, call.status = record["ended"], record["status"]
        else:
            call = Call(**record)
            calls[(call.app_life, call.seq)] = call
    return list(calls.values())


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


def main() -> None:
    """The app process: `python -m tests.chaos._app --port P --engine URL --dir D --life N`.

    It binds with SO_REUSEPORT so that the next life can listen on the same port before this one
    is killed (see `_sdk_process.py`)."""
    global APP_LIFE
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine", required=True)
    parser.add_argument("--dir", type=pathlib.Path, required=True)
    parser.add_argument("--life", type=int, required=True)
    args = parser.parse_args()
    APP_LIFE = args.life
    client = inngest.Inngest(
        app_id=APP_ID,
        is_production=False,
        api_base_url=args.engine,
        event_api_base_url=args.engine,
        logger=logging.getLogger("chaos.sdk"),
    )
    api = fastapi.FastAPI()
    journal = Journal(args.dir / JOURNAL_FILE)
    inngest.fast_api.serve(api, client, build_functions(client, journal))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(
        CallLog(api, args.dir / CALLS_FILE), log_level="error", lifespan="off",
        timeout_graceful_shutdown=2, backlog=2048,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
