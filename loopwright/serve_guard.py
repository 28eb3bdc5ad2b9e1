"""Refuse junk at an SDK serve path with a 400 before the SDK sees it (sidecar, agent).

The engine calls a function with ``POST <serve path>?fnId=…`` and a JSON object holding
``ctx``, ``event`` and ``steps``. The SDK answers anything else with a 500 (its own request
model fails to parse), which reads as "the sidecar is broken" when the caller sent junk. The
guard checks that outline only — the SDK still validates (and, with a signing key, verifies)
every real call — and replays the body it read.

The body's outline is checked only when the SDK refused the call (a status of 400 or more):
a call carries every step output of its run, so parsing it once more up front would cost
every call of a 1,000-step run a second pass over ~75 KB. A refused call whose outline is
wrong gets the guard's 400 instead of the SDK's answer, as before.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from .http_errors import ASGIApp, Message, Receive, Scope, Send, error_response

#: The engine's calls carry the run's event and every step output so far: allow a lot.
MAX_CALL_BYTES = 64 * 1024 * 1024
REQUIRED_OBJECTS = ("ctx", "event", "steps")


SERVE_PATH = "/api/inngest"


class ServeGuard:
    """ASGI middleware; ``path`` None guards every path (the app is the SDK's alone)."""

    def __init__(self, app: ASGIApp, path: str | None = None) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or (self.path is not None and scope.get("path") != self.path)
        ):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        problem = _query_problem(scope)
        if problem is not None:
            await _refuse(problem, scope, receive, send)
            return
        replayed = False
        refused = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def answer(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message.get("status", 200) >= 400:
                problem = _body_problem(body)
                if problem is not None:
                    refused = True
                    await _refuse(problem, scope, receive, send)
                    return
            if not refused:
                await send(message)

        await self.app(scope, replay, answer)


async def _refuse(problem: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(
        400,
        problem,
        code="invalid-call",
        fix="this path is called by the engine (Inngest protocol); to run a skill, "
        "send its event or use POST /v1/skills/{id}/test",
    )
    await response(scope, receive, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _query_problem(scope: Scope) -> str | None:
    query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if not query.get("fnId"):
        return "a function call needs ?fnId=<function id> in the URL"
    return None


def _body_problem(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    missing = [k for k in REQUIRED_OBJECTS if not isinstance(data.get(k), dict)]
    if missing:
        return f"the body needs these JSON objects: {', '.join(missing)}"
    return None
