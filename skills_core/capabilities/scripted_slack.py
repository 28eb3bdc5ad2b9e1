"""A scripted Slack on loopback: incoming webhooks and the Web API methods notify uses.

Real HTTP, so tests exercise the real ``httpx`` transport, status codes and headers:

* ``POST /services/T/B/X`` — an incoming webhook (answers ``ok``);
* ``POST /api/chat.postMessage`` — bearer token checked, ``thread_ts`` and message metadata
  kept, answers ``{"ok": true, "ts": ...}``;
* ``POST /api/conversations.history`` and ``/api/conversations.replies`` — what the notify
  capability reads to reconcile a post after a crash.

``fail_next(SlackFault(...))`` scripts the next posts' failures: an HTTP status (500, 429 with
``retry_after``), a Slack ``error`` (``invalid_auth``), or ``accept=True`` with ``delay_s`` —
the message is stored and the answer arrives too late, the "did it post?" case.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import threading
import time
from typing import Any

import pydantic
from aiohttp import web

from .loopback import LoopbackServer
from .settings import SlackApiChannel, SlackWebhookChannel

TOKEN = "xoxb-scripted-token"
CHANNEL = "C0SCRIPTED"


@dataclasses.dataclass(frozen=True)
class SlackMessage:
    channel: str
    text: str
    ts: str
    via: str
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class SlackFault:
    status: int = 500
    retry_after: float | None = None
    #: Answer HTTP 200 ``{"ok": false, "error": ...}`` instead of ``status``.
    error: str | None = None
    #: Store the message, then answer after ``delay_s`` (the client may have given up).
    accept: bool = False
    delay_s: float = 0.0
    #: With ``accept``: store the message, then answer ``status`` anyway (did it post?).
    then_fail: bool = False


class ScriptedSlack(LoopbackServer):
    def __init__(self) -> None:
        app = web.Application()
        app.router.add_post("/services/{team}/{bot}/{secret}", self._webhook)
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_post("/api/conversations.history", self._history)
        app.router.add_post("/api/conversations.replies", self._replies)
        super().__init__(app)
        self.messages: list[SlackMessage] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._faults: collections.deque[SlackFault] = collections.deque()
        self._lock = threading.Lock()
        self._last_ts = 0.0

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/services/T000/B000/scripted"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def webhook_channel(self, **overrides: Any) -> SlackWebhookChannel:
        fields: dict[str, Any] = {"url": pydantic.SecretStr(self.webhook_url), "timeout_s": 2.0}
        return SlackWebhookChannel(**{**fields, **overrides})

    def api_channel(self, **overrides: Any) -> SlackApiChannel:
        fields: dict[str, Any] = {
            "token": TOKEN,
            "channel": CHANNEL,
            "api_url": self.api_url,
            "timeout_s": 2.0,
        }
        return SlackApiChannel(**{**fields, **overrides})

    def fail_next(self, *faults: SlackFault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def _store(self, **fields: Any) -> SlackMessage:
        with self._lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            message = SlackMessage(ts=f"{self._last_ts:.6f}", **fields)
            self.messages.append(message)
            return message

    async def _fault(self, store: Any) -> web.Response | None:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            return None
        if fault.accept:
            store()
            await asyncio.sleep(fault.delay_s)
            if not fault.then_fail:
                return None
        await asyncio.sleep(fault.delay_s)
        if fault.error:
            return web.json_response({"ok": False, "error": fault.error})
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return web.Response(status=fault.status, text="scripted failure", headers=headers)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.path, body))
        if not body.get("text"):
            return web.Response(status=400, text="invalid_payload")
        stored: list[SlackMessage] = []

        def store() -> None:
            stored.append(self._store(channel="webhook", text=str(body["text"]), via="webhook"))

        failed = await self._fault(store)
        if failed is not None:
            return failed
        if not stored:
            store()
        return web.Response(text="ok")

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _post_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.path, body))
        if not self._authorized(request):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if not str(body.get("channel", "")).startswith("C"):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        stored: list[SlackMessage] = []

        def store() -> SlackMessage:
            message = self._store(
                channel=body["channel"],
                text=str(body.get("text", "")),
                via="api",
                thread_ts=body.get("thread_ts"),
                metadata=body.get("metadata"),
            )
            stored.append(message)
            return message

        failed = await self._fault(store)
        if failed is not None:
            return failed
        message = stored[0] if stored else store()
        return web.json_response({"ok": True, "channel": message.channel, "ts": message.ts})

    async def _read(self, request: web.Request) -> tuple[dict[str, str], web.Response | None]:
        form = dict(await request.post())
        params = {k: str(v) for k, v in form.items()}
        self.requests.append((request.path, dict(params)))
        if not self._authorized(request):
            return params, web.json_response({"ok": False, "error": "invalid_auth"})
        return params, await self._fault(lambda: None)

    def _render(self, messages: list[SlackMessage], params: dict[str, str]) -> web.Response:
        oldest = float(params.get("oldest") or 0)
        with_metadata = params.get("include_all_metadata") == "true"
        found = [m for m in messages if float(m.ts) > oldest and m.channel == params.get("channel")]
        rendered = []
        for m in sorted(found, key=lambda m: float(m.ts), reverse=True):
            item: dict[str, Any] = {"type": "message", "text": m.text, "ts": m.ts}
            if m.thread_ts:
                item["thread_ts"] = m.thread_ts
            if with_metadata and m.metadata:
                item["metadata"] = m.metadata
            rendered.append(item)
        return web.json_response({"ok": True, "messages": rendered, "has_more": False})

    async def _history(self, request: web.Request) -> web.Response:
        params, refused = await self._read(request)
        if refused:
            return refused
        top = [m for m in self.messages if m.via == "api" and m.thread_ts in (None, m.ts)]
        return self._render(top, params)

    async def _replies(self, request: web.Request) -> web.Response:
        params, refused = await self._read(request)
        if refused:
            return refused
        root = params.get("ts")
        thread = [
            m for m in self.messages if m.via == "api" and (m.ts == root or m.thread_ts == root)
        ]
        return self._render(thread, params)
