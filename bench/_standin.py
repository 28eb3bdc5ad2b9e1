"""An SDK stand-in that costs next to nothing: the engine-bound ceiling is measured with it.

It answers the execution protocol (section 4 of the protocol doc) for the ``seq`` function the
way the Python SDK does, from a raw asyncio protocol with httptools' parser and no framework: a
call whose body holds k memos of an n-step run answers ``206 [StepRun s<k>]`` (the step "runs"
in the same call, as with immediate execution) until k = n, then ``200 n``. Each answered step
stamps ``CLOCK_MONOTONIC`` like the real app's step bodies, so the same closed-loop driver
(`_common.engine_closed_loop`) measures both. It speaks the `/bench/*` routes of ``_app.py``
that the driver uses (reset, dump of steps/timings/counters, the long-poll wait on a counter).

Run: ``python bench/_standin.py --port P --engine URL``; it registers itself with the engine
(``POST /fn/register``) when the driver calls ``POST /bench/register[?crons=K]``; with K,
also K functions ``cron-<i>`` on ``* * * * *`` (one step each), whose first calls it records
with the tick's ``scheduledAt`` (``/bench/dump?what=cron_calls``) for the cron delay.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
import urllib.parse
from collections import defaultdict
from typing import Any

import httptools
import orjson

SERVE_PATH = "/api/inngest"
APP_ID = "bench"
FUNCTIONS = ("seq",)
_SDK_HEADERS = b"x-inngest-sdk: inngest-py:v0.5.19\r\nx-inngest-req-version: 2\r\n"


def _step_op(k: int, output: int) -> bytes:
    name = f"s{k}"
    return orjson.dumps(
        [
            {
                "op": "StepRun",
                "id": hashlib.sha1(name.encode()).hexdigest(),
                "name": name,
                "displayName": name,
                "opts": None,
                "userland": {"id": name, "index": None},
                "data": output,
            }
        ]
    )


class State:
    def __init__(self, engine_url: str, port: int) -> None:
        self.engine_url, self.port = engine_url, port
        self.timings_on = False
        self.steps: list[tuple[str, int]] = []
        self.timings: list[tuple[str, int, int]] = []
        self.counters: defaultdict[str, int] = defaultdict(int)
        self._waiters: list[tuple[str, int, asyncio.Future[int]]] = []
        self.crons = 0
        # (tick's scheduledAt, wall-clock ns when the run's first call arrived), per cron run
        self.cron_calls: list[tuple[str, int]] = []

    def bump(self, counter: str) -> None:
        self.counters[counter] += 1
        n = self.counters[counter]
        keep = []
        for name, target, fut in self._waiters:
            if name == counter and n >= target:
                if not fut.done():
                    fut.set_result(n)
            else:
                keep.append((name, target, fut))
        self._waiters = keep

    def call(self, run_id: str, body: bytes) -> tuple[int, bytes]:
        t_in = time.monotonic_ns()
        req = orjson.loads(body)
        event = req.get("event") or {}
        data = event.get("data") or {}
        n = int(data.get("n", 1))
        k = len(req.get("steps") or {})
        if k == 0 and event.get("name") == "inngest/scheduled.timer":
            self.cron_calls.append((str(data.get("scheduledAt")), time.time_ns()))
        if k < n:
            t = time.monotonic_ns()
            self.steps.append((run_id, t))
            status, out = 206, _step_op(k, t)
        else:
            self.bump("seq-done")
            status, out = 200, b"%d" % n
        if self.timings_on:
            self.timings.append((run_id, t_in, time.monotonic_ns()))
        return status, out

    def register_body(self) -> bytes:
        origin = f"http://127.0.0.1:{self.port}{SERVE_PATH}"
        triggers = {fn: {"event": f"{APP_ID}/{fn}"} for fn in FUNCTIONS}
        triggers.update({f"cron-{i}": {"cron": "* * * * *"} for i in range(self.crons)})
        functions = [
            {
                "id": f"{APP_ID}-{fn}",
                "name": fn,
                "triggers": [trigger],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "retries": {"attempts": 0},
                        "runtime": {
                            "type": "http",
                            "url": f"{origin}?fnId={APP_ID}-{fn}&stepId=step",
                        },
                    }
                },
            }
            for fn, trigger in triggers.items()
        ]
        return orjson.dumps(
            {
                "appname": APP_ID,
                "deploy_type": "ping",
                "framework": "standin",
                "sdk": "py:v0.5.19",
                "url": origin,
                "v": "0.1",
                "functions": functions,
            }
        )


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive server connection; one request at a time, as the engine sends them."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._reset_request()

    def _reset_request(self) -> None:
        self.url = b""
        self.body: list[bytes] = []
        self.run_id = ""
        self._header = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's own Transport class
        self.state.counters["connections"] += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(400, b'{"error":"bad request"}')
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-run-id":
            self.run_id = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        parsed = httptools.parse_url(self.url)
        path = parsed.path.decode()
        query = dict(urllib.parse.parse_qsl((parsed.query or b"").decode()))
        body = b"".join(self.body)
        run_id = self.run_id
        self._reset_request()
        if path == SERVE_PATH and method == b"POST":
            self.state.counters["calls"] += 1
            try:
                status, out = self.state.call(run_id, body)
            except (ValueError, TypeError, AttributeError) as exc:
                status, out = 500, orjson.dumps({"name": "Error", "message": str(exc)})
            self._send(status, out, sdk=True)
        elif path.startswith("/bench/"):
            asyncio.get_running_loop().create_task(self._bench(path, query))
        else:
            self._send(404, b'{"error":"not found"}')

    def _send(self, status: int, body: bytes, sdk: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        reason = {200: b"OK", 206: b"Partial Content", 404: b"Not Found"}.get(status, b"Error")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, reason, len(body), _SDK_HEADERS if sdk else b"")
            + body
        )

    async def _bench(self, path: str, query: dict[str, str]) -> None:
        st = self.state
        payload: Any
        if path == "/bench/reset":
            st.timings_on = query.get("timings") == "1"
            st.steps, st.timings = [], []
            st.counters.clear()
            payload = {"ok": True, "pid": os.getpid(), "http": "raw+httptools", "loop": "uvloop"}
        elif path == "/bench/register":
            st.crons = int(query.get("crons", "0"))
            payload = await _register(st)
        elif path == "/bench/dump":
            payload = {
                "steps": lambda: st.steps,
                "timings": lambda: st.timings,
                "counters": lambda: dict(st.counters),
                "cron_calls": lambda: st.cron_calls,
                "marks": lambda: {},
            }.get(query.get("what", ""), lambda: None)()
        elif path == "/bench/wait":
            # Headers at once (the caller knows the waiter exists before it triggers anything),
            # the body when the counter is reached; the connection then closes.
            if self.transport is not None:
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                )
            counter, target = query.get("counter", ""), int(query.get("n", "0"))
            fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            if st.counters[counter] >= target:
                fut.set_result(st.counters[counter])
            else:
                st._waiters.append((counter, target, fut))
            try:
                payload = {
                    "ok": True,
                    "value": await asyncio.wait_for(fut, float(query["timeout"])),
                }
            except TimeoutError:
                payload = {"ok": False, "value": None}
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(orjson.dumps(payload))
                self.transport.close()
            return
        else:
            payload = {"error": "unknown bench route"}
        self._send(200, orjson.dumps(payload))


async def _register(st: State) -> dict[str, Any]:
    """POST /fn/register to the engine over a raw connection (no client library needed)."""
    url = urllib.parse.urlsplit(st.engine_url)
    body = st.register_body()
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        b"POST /fn/register HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % (url.netloc.encode(), len(body)) + body
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, answer = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return {"ok": status == 200, "status": status, "answer": answer.decode(errors="replace")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--engine", required=True)
    args = parser.parse_args()
    state = State(args.engine, args.port)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: HttpProtocol(state), "127.0.0.1", args.port, backlog=4096
        )
        async with server:
            await server.serve_forever()

    import uvloop

    uvloop.run(serve())


if __name__ == "__main__":
    main()
