"""The platform's parts the console reads from, each over its own HTTP API (as the CLI does).

A part that does not answer raises ``PartDown`` naming it, so a page can say which part is
down and render the rest; an unknown id raises ``NotFound`` (a 404 page); a change the part
refuses raises ``Refused`` with the part's own message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from loopwright.engine_client import EngineClient, EngineError, EngineTarget
from loopwright.engine_client.errors import EngineNotFound, EngineRefused, EngineUnreachable
from loopwright.url_path import segment

TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class PartDown(Exception):
    def __init__(self, part: str, url: str, detail: str) -> None:
        super().__init__(
            f"the {part} is not reachable at {url} ({detail}); start it with `loopwright up`"
        )
        self.part = part


class NotFound(Exception):
    """What was asked for does not exist; the message says what."""


class Refused(Exception):
    """The part refused the change; the message is the part's reason."""


class Part:
    name = "part"

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=TIMEOUT, headers=headers)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, path: str, *, what: str = "", **kwargs: Any
    ) -> httpx.Response:
        try:
            resp = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise PartDown(self.name, self.url, type(err).__name__) from None
        if resp.status_code == 404:
            raise NotFound(what or f"{path} on the {self.name}")
        if resp.status_code >= 400:
            raise Refused(_message(resp))
        return resp

    async def json(self, method: str, path: str, *, what: str = "", **kwargs: Any) -> Any:
        return (await self.call(method, path, what=what, **kwargs)).json()

    async def up(self, path: str) -> bool:
        try:
            resp = await self.http.get(path, timeout=2.0)
        except httpx.HTTPError:
            return False
        return resp.status_code < 500


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500] or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body.get("detail") or body)
    return str(body)


class SidecarApi(Part):
    """sidecar/api.py: skills, versions, diffs, approvals."""

    name = "sidecar"

    async def skills(self) -> list[dict[str, Any]]:
        return list((await self.json("GET", "/v1/skills"))["data"])

    async def skill(self, skill_id: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.json(
            "GET", f"/v1/skills/{segment(skill_id)}", what=f"skill {skill_id!r}"
        )
        return data

    async def version(self, skill_id: str, number: int) -> dict[str, Any]:
        what = f"version {number} of skill {skill_id!r}"
        data: dict[str, Any] = await self.json(
            "GET", f"/v1/skills/{segment(skill_id)}/versions/{number}", what=what
        )
        return data

    async def act(self, skill_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = await self.json(
            "POST", f"/v1/skills/{segment(skill_id)}/{action}", json=body, what=f"skill {skill_id!r}",
            timeout=120.0,
        )  # fmt: skip
        return data

    async def status(self) -> dict[str, Any]:
        data: dict[str, Any] = await self.json("GET", "/v1/status")
        return data


class AgentApi(Part):
    """agent/api.py: conversations, turns and their Server-Sent Events."""

    name = "agent"

    async def status(self) -> dict[str, Any]:
        data: dict[str, Any] = await self.json("GET", "/v1/status")
        return data

    async def conversations(self) -> list[dict[str, Any]]:
        return list((await self.json("GET", "/v1/conversations"))["conversations"])

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        what = f"conversation {conversation_id!r}"
        data: dict[str, Any] = await self.json(
            "GET", f"/v1/conversations/{segment(conversation_id)}", what=what
        )
        return data

    async def create(self, title: str) -> str:
        return str((await self.json("POST", "/v1/conversations", json={"title": title}))["id"])

    async def post(self, conversation_id: str, text: str) -> dict[str, Any]:
        what = f"conversation {conversation_id!r}"
        data: dict[str, Any] = await self.json(
            "POST",
            f"/v1/conversations/{segment(conversation_id)}/messages",
            json={"text": text},
            what=what,
        )
        return data

    async def events(self, conversation_id: str, after: int) -> AsyncIterator[bytes]:
        """The agent's SSE stream, relayed as is (it resumes from ``after``)."""
        path = f"/v1/conversations/{segment(conversation_id)}/events"
        try:
            async with self.http.stream(
                "GET", path, params={"after": after}, timeout=httpx.Timeout(None, connect=2.0)
            ) as resp:
                if resp.status_code == 404:
                    raise NotFound(f"conversation {conversation_id!r}")
                async for chunk in resp.aiter_raw():
                    yield chunk
        except httpx.HTTPError as err:
            raise PartDown(self.name, self.url, type(err).__name__) from None


class EngineApi(Part):
    """The engine, only through the platform's one engine client (as `loopwright send` /
    `runs cancel` / `runs rerun`): sending, cancelling, events and cron schedules."""

    name = "engine"

    def __init__(self, url: str) -> None:
        self.client = EngineClient(EngineTarget.from_env(url=url), timeout_s=10)
        super().__init__(url, self.client.target.authorization())

    async def aclose(self) -> None:
        self.client.close()
        await super().aclose()

    async def send(self, name: str, data: dict[str, Any]) -> list[str]:
        ids: list[str] = await engine_call(self.url, self.client.send, name, data)
        return ids

    async def events(self, limit: int = 20, since_iso: str | None = None) -> list[dict[str, Any]]:
        rows = await engine_call(
            self.url, self.client.events, limit=limit, received_after=since_iso
        )
        return list(rows)

    async def event(self, event_id: str) -> dict[str, Any]:
        what = f"event {event_id!r}"
        data: dict[str, Any] = await engine_call(self.url, self.client.event, event_id, what=what)
        return data

    async def event_runs(self, event_id: str) -> list[dict[str, Any]]:
        what = f"event {event_id!r}"
        rows = await engine_call(self.url, self.client.event_runs, event_id, what=what)
        return list(rows)

    async def cancel(self, run_id: str) -> None:
        await engine_call(self.url, self.client.cancel, run_id, what=f"run {run_id!r}")

    async def schedules(self) -> list[dict[str, Any]]:
        if not self.client.embedded:  # real Inngest lists none: the page shows no next tick
            return []
        return list(await engine_call(self.url, self.client.schedules))


async def engine_call(url: str, fn: Any, *args: Any, what: str = "", **kwargs: Any) -> Any:
    """Call the engine client off the event loop; its errors become the console's."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except EngineUnreachable:
        raise PartDown("engine", url, "connection refused") from None
    except EngineNotFound as err:
        raise NotFound(what or str(err)) from None
    except EngineRefused as err:
        if what and err.status == 400:  # a malformed id cannot name anything
            raise NotFound(what) from None
        raise Refused(str(err)) from None
    except EngineError as err:
        raise Refused(str(err)) from None
