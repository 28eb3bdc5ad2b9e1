"""A scripted OpenAI-compatible server on loopback: the LLM test double.

It speaks ``/v1/chat/completions`` (plain and streamed) and ``/v1/models`` over real HTTP, so
tests drive the real ``openai`` client, the real timeouts and the real error mapping, and no
test needs a paid model. Replies come from a queue (``script``) and then from a responder
function (``respond_with``); every request is recorded (``requests``). A reply can also be an
HTTP error with headers (``Reply(status=429, headers={"Retry-After": "7"})``) or slow
(``delay_s``), which is how fault tests produce rate limits, outages and timeouts.

With nothing scripted the server answers 500 ``no scripted reply``: a test that forgets to
script a reply fails loudly instead of receiving something plausible.

    with ScriptedLLM() as llm:
        llm.script(Reply('{"label": "critical", "reason": "p99 is 9x baseline"}'))
        settings = CapabilitySettings(llm=llm.settings())
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pydantic
from aiohttp import web

from .loopback import LoopbackServer
from .settings import LLMSettings, ModelPrice

API_KEY = "sk-scripted-test"
MODEL = "scripted-model"


@dataclasses.dataclass(frozen=True)
class Reply:
    text: str = ""
    #: None: estimated from the request (about 4 characters per token).
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    status: int = 200
    error: str = "scripted error"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay_s: float = 0.0
    omit_usage: bool = False
    tool_calls: list[dict[str, Any]] | None = None


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))


Responder = Callable[[RecordedRequest], Reply]


class ScriptedLLM(LoopbackServer):
    def __init__(self, *replies: Reply | str, responder: Responder | None = None) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        super().__init__(app)
        self._queue: collections.deque[Reply] = collections.deque()
        self._responder = responder
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.requests: list[RecordedRequest] = []
        self.script(*replies)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def settings(self, **overrides: Any) -> LLMSettings:
        """LLM settings pointing at this server, with a known price so budgets are exact."""
        fields: dict[str, Any] = {
            "base_url": self.base_url,
            "api_key": pydantic.SecretStr(API_KEY),
            "model": MODEL,
            "prices": {MODEL: ModelPrice(input_per_mtok=1.0, output_per_mtok=2.0)},
            "timeout_s": 5.0,
        }
        return LLMSettings(**{**fields, **overrides})

    def script(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def respond_with(self, responder: Responder | None) -> None:
        self._responder = responder

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self._responder is not None:
            return self._responder(request)
        return Reply(status=500, error="no scripted reply: call ScriptedLLM.script(...)")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        recorded = RecordedRequest(request.path, dict(request.headers), body)
        reply = self._next(recorded)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            error = {"error": {"message": reply.error, "type": "scripted", "code": reply.status}}
            return web.json_response(error, status=reply.status, headers=reply.headers)
        completion = self._completion(body, reply)
        if body.get("stream"):
            return await self._stream(request, completion, body)
        return web.json_response(completion, headers=reply.headers)

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else prompt_chars // 4 + 1
        done = reply.completion_tokens
        completion_tokens = done if done is not None else len(reply.text) // 4 + 1
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        answer: dict[str, Any] = {
            "id": f"chatcmpl-scripted-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
        }
        if not reply.omit_usage:
            answer["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt + completion_tokens,
            }
        return answer

    async def _stream(
        self, request: web.Request, completion: dict[str, Any], body: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {k: completion[k] for k in ("id", "created", "model")}
        choice = completion["choices"][0]
        chunks: list[dict[str, Any]] = [
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": choice["message"], "finish_reason": None}],
            },
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}],
            },
        ]
        if (body.get("stream_options") or {}).get("include_usage") and "usage" in completion:
            chunks.append(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": completion["usage"],
                }
            )
        for chunk in chunks:
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "scripted"}]}
        )
