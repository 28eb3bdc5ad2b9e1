"""Real SDK apps: the official `inngest` SDK served by FastAPI under uvicorn in a background thread.

- `SdkServer` runs one FastAPI app on a free loopback port (httpx's test-server pattern). Several
  `inngest.fast_api.serve()` mounts may live on it under different paths (used by re-sync tests).
- `CallLog` is an ASGI middleware that records every POST the engine makes to the SDK: fnId,
  stepId, run id, attempt, flags, body size, response status and start/end times. Call-count
  assertions (7 calls in wait mode, 9 in race mode, ...) read it.
- `Journal` is where user code in scenario functions writes what it saw (attempts, timestamps,
  events); tests read it back. It is thread-safe because sync handlers run in a thread pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import fastapi
import uvicorn


class Journal:
    """Append-only notes from user code, by key (usually a run id or a label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: dict[str, list[Any]] = defaultdict(list)

    def note(self, key: str, value: Any = None) -> None:
        with self._lock:
            self._notes[key].append(value)

    def notes(self, key: str) -> list[Any]:
        with self._lock:
            return list(self._notes.get(key, []))

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._notes)


@dataclasses.dataclass
class Call:
    """One POST from the engine to the SDK."""

    fn_id: str
    step_id: str
    run_id: str | None
    attempt: int | None
    use_api: bool | None
    disable_immediate_execution: bool | None
    body_size: int
    started: float
    ended: float | None = None
    status: int | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.ended is None


class CallLog:
    """ASGI middleware recording the engine's calls to the SDK."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def calls(self, *, run_id: str | None = None, fn_id: str | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self._calls
                if (run_id is None or c.run_id == run_id) and (fn_id is None or c.fn_id == fn_id)
            ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)

        call = _describe_call(scope, body)
        with self._lock:
            self._calls.append(call)

        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def record_send(msg: Any) -> None:
            if msg["type"] == "http.response.start":
                call.status = msg["status"]
                call.headers = {k.decode().lower(): v.decode() for k, v in msg.get("headers", [])}
            await send(msg)

        try:
            await self.app(scope, replay, record_send)
        finally:
            call.ended = time.time()


def _describe_call(scope: Any, body: bytes) -> Call:
    query = urllib.parse.parse_qs(scope.get("query_string", b"").decode())
    ctx: dict[str, Any] = {}
    use_api = None
    try:
        payload = json.loads(body)
        ctx = payload.get("ctx") or {}
        use_api = payload.get("use_api")
    except (ValueError, AttributeError):
        pass
    return Call(
        fn_id=query.get("fnId", [""])[0],
        step_id=query.get("stepId", [""])[0],
        run_id=ctx.get("run_id"),
        attempt=ctx.get("attempt"),
        use_api=use_api,
        disable_immediate_execution=ctx.get("disable_immediate_execution"),
        body_size=len(body),
        started=time.time(),
    )


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


class SdkServer:
    """A FastAPI app on a free loopback port, run by uvicorn in a daemon thread."""

    def __init__(self) -> None:
        self.fastapi = fastapi.FastAPI()
        self.call_log = CallLog(self.fastapi)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.origin = f"http://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[SdkServer]:
        config = uvicorn.Config(
            self.call_log,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = _ThreadedServer(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.005)
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            self._sock.close()
