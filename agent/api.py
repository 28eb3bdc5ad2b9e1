"""The agent's HTTP API, for the CLI and the web console: a thin adapter over the store.

    GET  /v1/status                         is an LLM configured (and if not, what to set)
    GET  /v1/conversations                  list, newest first
    POST /v1/conversations                  {title?} -> {id}
    GET  /v1/conversations/{id}             messages, turns, tool calls, costs
    POST /v1/conversations/{id}/messages    {text} -> {turn_id, ahead}: queues a turn
    GET  /v1/conversations/{id}/events      the turn events as Server-Sent Events
    GET  /v1/turns/{id}                     one turn and its outcome

A message sent while a turn of the same conversation runs is accepted at once and queued:
``ahead`` says how many turns run before it. Events carry a sequence number as their SSE
``id``; reconnect with ``Last-Event-ID`` (or ``?after=``) to resume without gaps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import fastapi
import inngest
import pydantic
from fastapi.responses import JSONResponse, StreamingResponse

from agent.errors import AgentError, ConversationNotFound
from agent.runtime import Runtime
from agent.turn import TURN_REQUESTED
from loopwright.http_errors import error_response
from loopwright.http_errors import install as install_error_shape

POLL_S = 0.1
HEARTBEAT_S = 15.0


class NewConversation(pydantic.BaseModel):
    title: str = pydantic.Field(default="", max_length=500)
    id: str | None = pydantic.Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class NewMessage(pydantic.BaseModel):
    text: str = pydantic.Field(min_length=1, max_length=20_000)


def build_router(runtime: Runtime, client: inngest.Inngest) -> fastapi.APIRouter:
    store = runtime.store
    router = fastapi.APIRouter(prefix="/v1")

    @router.get("/status")
    def status() -> dict[str, Any]:
        settings = runtime.settings
        return {
            "llm_configured": settings.llm_configured,
            "setup_hint": None if settings.llm_configured else settings.setup_hint(),
            "models": {role: list(r.models()) for role, r in settings.roles.items()},
            "engine_url": settings.service.engine_url,
            "sidecar_url": settings.service.sidecar_url,
            "budget": {
                "per_turn_usd": settings.budget.per_turn_usd,
                "per_conversation_usd": settings.budget.per_conversation_usd,
                "per_day_usd": settings.budget.per_day_usd,
            },
        }

    @router.get("/conversations")
    def conversations(limit: int = fastapi.Query(50, ge=1, le=1000)) -> dict[str, Any]:
        return {"conversations": store.conversations(limit)}

    @router.post("/conversations")
    def create(body: NewConversation) -> dict[str, Any]:
        return {"id": store.create_conversation(body.title or "conversation", body.id)}

    @router.get("/conversations/{conversation_id}")
    def conversation(conversation_id: str) -> dict[str, Any]:
        return store.conversation(conversation_id)

    @router.get("/turns/{turn_id}")
    def turn(turn_id: str) -> dict[str, Any]:
        return store.turn(turn_id)

    @router.post("/conversations/{conversation_id}/messages", status_code=202)
    async def post_message(conversation_id: str, body: NewMessage) -> Any:
        queued = store.add_turn(conversation_id, body.text)
        data = {"conversation_id": conversation_id, "turn_id": queued["turn_id"]}
        if not runtime.settings.llm_configured:
            # Answer at once with what to set; no engine is needed for that.
            await asyncio.to_thread(_answer_unconfigured, runtime, conversation_id, queued)
        else:
            try:
                await client.send(
                    inngest.Event(name=TURN_REQUESTED, id=queued["turn_id"], data=data)
                )
            except Exception as err:
                store.fail_turn(queued["turn_id"], f"the engine did not accept the turn: {err}")
                return error_response(
                    503,
                    f"the engine at {runtime.settings.service.engine_url} did not accept the "
                    f"turn ({err})",
                    code="engine-unavailable",
                    fix="start it with `loopwright up`",
                    **data,
                )
        return {**queued, "queued": queued["ahead"] > 0}

    @router.get("/conversations/{conversation_id}/events")
    async def events(
        conversation_id: str,
        request: fastapi.Request,
        after: int = fastapi.Query(0, ge=0, le=2**62),
        turn_id: str | None = None,
        follow: bool = True,
    ) -> StreamingResponse:
        store.conversation(conversation_id)  # 404 early
        last = request.headers.get("last-event-id")
        start = int(last) if last and last.isdigit() else after
        stream = _stream(runtime, conversation_id, start, turn_id, follow, request)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _answer_unconfigured(runtime: Runtime, conversation_id: str, queued: dict[str, Any]) -> None:
    from agent.durable import InlineSteps
    from agent.turn import Turn

    Turn(InlineSteps(), runtime.effects, conversation_id, queued["turn_id"]).run()


async def _stream(
    runtime: Runtime,
    conversation_id: str,
    after: int,
    turn_id: str | None,
    follow: bool,
    request: fastapi.Request,
) -> AsyncIterator[bytes]:
    last_beat = time.monotonic()
    while True:
        batch = runtime.store.events(conversation_id, after)
        for event in batch:
            after = event["seq"]
            payload = json.dumps(
                {**event["data"], "turn_id": event["turn_id"], "seq": after}, sort_keys=True
            )
            yield f"id: {after}\nevent: {event['kind']}\ndata: {payload}\n\n".encode()
            if turn_id and event["turn_id"] == turn_id and event["kind"] == "turn.finished":
                return
        if not follow and not batch:
            return
        if await request.is_disconnected():
            return
        if time.monotonic() - last_beat > HEARTBEAT_S:
            last_beat = time.monotonic()
            yield b": keep-alive\n\n"
        if not batch:
            await asyncio.sleep(POLL_S)


def error_handlers(app: fastapi.FastAPI) -> None:
    """Designed errors become the platform's error shape with their stable code."""
    install_error_shape(app)

    @app.exception_handler(ConversationNotFound)
    async def not_found(_: fastapi.Request, err: ConversationNotFound) -> JSONResponse:
        return error_response(404, err.message, code=err.code)

    @app.exception_handler(AgentError)
    async def agent_error(_: fastapi.Request, err: AgentError) -> JSONResponse:
        return error_response(400, err.message, code=err.code)
