"""The sidecar's call endpoint answers every call exactly as the SDK's FastAPI endpoint does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import fastapi
import inngest
import inngest.fast_api
import pytest

from sidecar.call_endpoint import CallEndpoint

SERVE_PATH = "/api/inngest"
client = inngest.Inngest(app_id="parity", is_production=False)


@client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="t/steps"), retries=0)
def steps(ctx: inngest.ContextSync) -> dict[str, Any]:
    first = ctx.step.run("first", lambda: {"n": ctx.event.data.get("n", 0)})
    return {"first": first}


@client.create_function(fn_id="fails", trigger=inngest.TriggerEvent(event="t/fails"), retries=0)
def fails(ctx: inngest.ContextSync) -> None:
    raise ValueError("no luck")


FUNCTIONS = [steps, fails]
EVENT = {"name": "t/steps", "data": {"n": 3}, "id": "e1", "ts": 1}
CTX = {"attempt": 0, "disable_immediate_execution": False, "run_id": "01R", "stack": {}}


def body(steps: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {"ctx": CTX, "event": EVENT, "events": [EVENT], "steps": steps or {}, "use_api": False}
    ).encode()


def fastapi_app() -> fastapi.FastAPI:
    app = fastapi.FastAPI(openapi_url=None)
    inngest.fast_api.serve(app, client, FUNCTIONS, serve_path=SERVE_PATH)
    return app


def call(app: Any, query: bytes, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": SERVE_PATH, "raw_path": SERVE_PATH.encode(), "root_path": "",
             "query_string": query, "server": ("127.0.0.1", 8290), "client": ("127.0.0.1", 5),
             "headers": [(b"host", b"127.0.0.1:8290"), (b"content-type", b"application/json"),
                         (b"X-Inngest-Server-Kind", b"dev")]}  # fmt: skip
    sent: list[dict[str, Any]] = []
    chunks = [payload[:7], payload[7:]]  # a body in two parts, as a socket may give it

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({**scope, "app": app}, receive, send))
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"] if k != b"server-timing"}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


CALLS = {
    "first-step": (b"fnId=parity-steps&stepId=step", body()),
    "function-fails": (b"fnId=parity-fails&stepId=step", body()),
    "unknown-function": (b"fnId=nope&stepId=step", body()),
    "no-function-id": (b"stepId=step", body()),
    "junk-body": (b"fnId=parity-steps&stepId=step", b'{"ctx": 1}'),
    "repeated-query": (b"fnId=nope&fnId=parity-steps&stepId=step", body()),
}


@pytest.mark.parametrize("query,payload", list(CALLS.values()), ids=list(CALLS))
def test_a_call_is_answered_as_fastapi_answers_it(query: bytes, payload: bytes) -> None:
    ours = call(CallEndpoint(client, FUNCTIONS, SERVE_PATH), query, payload)
    theirs = call(fastapi_app(), query, payload)
    assert ours == theirs


def test_a_memoized_step_ends_the_run_the_same_way() -> None:
    first = call(CallEndpoint(client, FUNCTIONS, SERVE_PATH), *CALLS["first-step"])
    assert first[0] == 206
    (op,) = json.loads(first[2])
    memos = {op["id"]: {"data": op["data"]}}
    query = b"fnId=parity-steps&stepId=step"
    ours = call(CallEndpoint(client, FUNCTIONS, SERVE_PATH), query, body(memos))
    assert ours == call(fastapi_app(), query, body(memos))
    assert (ours[0], json.loads(ours[2])) == (200, {"first": {"n": 3}})


def test_an_sdk_that_raises_gets_fastapis_500(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = CallEndpoint(client, FUNCTIONS, SERVE_PATH)

    async def broken(request: Any) -> Any:
        raise RuntimeError("the SDK broke")

    monkeypatch.setattr(endpoint.handler, "post", broken)
    status, headers, payload = call(endpoint, *CALLS["first-step"])
    assert (status, payload) == (500, b"Internal Server Error")
    assert headers["content-type"].startswith("text/plain")
