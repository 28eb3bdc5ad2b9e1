"""The serve-path guard: junk gets a clear 400, the SDK's own answers pass through untouched."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from loopwright.serve_guard import ServeGuard

CALL = json.dumps({"ctx": {}, "event": {}, "steps": {"a": {"data": 1}}}).encode()


def sdk_answering(status: int, body: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def call(app: Any, body: bytes, query: bytes = b"fnId=f&stepId=step") -> tuple[int, bytes]:
    scope = {"type": "http", "method": "POST", "path": "/api/inngest", "query_string": query,
             "headers": []}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(ServeGuard(app)(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    return starts[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_junk_the_sdk_refused_gets_the_guards_400_naming_the_problem() -> None:
    status, body = call(sdk_answering(500, b'{"error": "validation"}'), b'{"ctx": {}}')
    assert status == 400
    problem = json.loads(body)["error"]
    assert "event, steps" in problem["message"] and problem["code"] == "invalid-call"


def test_a_call_without_fn_id_is_refused_before_the_sdk() -> None:
    status, body = call(sdk_answering(200, b"{}"), CALL, query=b"")
    assert status == 400 and b"fnId" in body


def test_the_sdks_answers_to_well_formed_calls_pass_through() -> None:
    assert call(sdk_answering(206, b'[{"op": "Step"}]'), CALL) == (206, b'[{"op": "Step"}]')
    # A step that failed: the SDK's 500 is the engine's business, not a malformed call.
    assert call(sdk_answering(500, b'{"name": "ValueError"}'), CALL) == (
        500,
        b'{"name": "ValueError"}',
    )
