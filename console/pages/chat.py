"""Chat: conversations, send a message, the turn streaming live (relayed from the agent's own
SSE), queued messages shown as queued, the budget the turn used, the written skill linked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

import fastapi
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from ..context import console_of, page, session_of
from ..parts import PartDown
from ._common import Outages

router = fastapi.APIRouter()


@router.get("/chat")
async def conversations(request: fastapi.Request) -> Response:
    console = console_of(request)
    down = Outages()
    items = await down.get(console.agent.conversations(), [])
    status = await down.get(console.agent.status(), {})
    return page(
        request, "chat_list.html", conversations=items, status=status, outages=down.messages
    )


@router.post("/chat")
async def new_conversation(
    request: fastapi.Request, title: Annotated[str, fastapi.Form()] = ""
) -> Response:
    console = console_of(request)
    try:
        cid = await console.agent.create(title.strip()[:200] or "conversation")
    except PartDown as err:
        session_of(request).flash.append(("error", str(err)))
        return RedirectResponse("/chat", status_code=303)
    return RedirectResponse(f"/chat/{cid}", status_code=303)


@router.get("/chat/{conversation_id}")
async def conversation(request: fastapi.Request, conversation_id: str) -> Response:
    console = console_of(request)
    conv = await console.agent.conversation(conversation_id)
    down = Outages()
    status = await down.get(console.agent.status(), {})
    return page(request, "chat.html", conv=conv, status=status, outages=down.messages)


@router.post("/chat/{conversation_id}/messages")
async def send(
    request: fastapi.Request, conversation_id: str, text: Annotated[str, fastapi.Form()] = ""
) -> Response:
    console = console_of(request)
    if not text.strip():
        session_of(request).flash.append(("error", "Type a message first."))
        return RedirectResponse(f"/chat/{conversation_id}", status_code=303)
    try:
        await console.agent.post(conversation_id, text.strip())
    except PartDown as err:
        session_of(request).flash.append(("error", str(err)))
    return RedirectResponse(f"/chat/{conversation_id}#live", status_code=303)


@router.get("/chat/{conversation_id}/events")
async def events(request: fastapi.Request, conversation_id: str, after: int = 0) -> Response:
    """The agent's turn events, relayed unchanged (the browser cannot reach the agent)."""
    console = console_of(request)
    last = request.headers.get("last-event-id")
    start = int(last) if last and last.isdigit() else after
    await console.agent.conversation(conversation_id)  # 404 / agent down before streaming

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in console.agent.events(conversation_id, start):
                yield chunk
        except PartDown as err:
            yield f"event: down\ndata: {json.dumps({'message': str(err)})}\n\n".encode()

    return StreamingResponse(
        relay(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
