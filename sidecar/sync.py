"""Sync the sidecar's app with the engine, and read the answer the SDK would hide.

The SDK registers an app when its serve URL receives a ``PUT``: it POSTs ``/fn/register`` to
the engine and answers the ``PUT`` with the engine's reply, but never raises on a refusal. So
both ways of syncing here read the reply body:

* ``EngineSync`` asks the embedded engine: ``POST {engine}/v1/apps/sync {"url"}``; the engine
  PUTs the serve URL and answers ``{"ok", "modified", "error"}``.
* ``PutSync`` PUTs the serve URL itself — what the Inngest Dev Server and Cloud do — and reads
  the register reply the SDK passes through. Same code path in the SDK, no engine extension.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import httpx


@dataclasses.dataclass(frozen=True)
class SyncResult:
    ok: bool
    modified: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Syncer(Protocol):
    async def sync(self) -> SyncResult: ...

    async def aclose(self) -> None: ...


class _Http:
    """One HTTP client per syncer, made on first use: building an ``httpx.AsyncClient`` loads
    an SSL context (~80 ms), more than the whole sync takes."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class EngineSync(_Http):
    def __init__(self, engine_url: str, serve_url: str, *, timeout: float = 30.0) -> None:
        super().__init__(timeout)
        self.engine_url = engine_url.rstrip("/")
        self.serve_url = serve_url

    async def sync(self) -> SyncResult:
        try:
            resp = await self.client().post(
                f"{self.engine_url}/v1/apps/sync", json={"url": self.serve_url}
            )
        except httpx.HTTPError as err:
            return SyncResult(ok=False, error=f"engine unreachable: {type(err).__name__}: {err}")
        body = _json(resp)
        nested = body.get("data")
        data: dict[str, Any] = nested if isinstance(nested, dict) else body
        if resp.status_code >= 400 or not data.get("ok"):
            error = data.get("error") or body.get("error") or f"HTTP {resp.status_code}"
            return SyncResult(ok=False, error=str(error))
        return SyncResult(ok=True, modified=bool(data.get("modified")))


class PutSync(_Http):
    def __init__(self, serve_url: str, *, timeout: float = 30.0) -> None:
        super().__init__(timeout)
        self.serve_url = serve_url

    async def sync(self) -> SyncResult:
        try:
            resp = await self.client().put(self.serve_url)
        except httpx.HTTPError as err:
            return SyncResult(ok=False, error=f"serve URL unreachable: {err}")
        body = _json(resp)
        error = body.get("error") or (body.get("message") if resp.status_code >= 400 else None)
        if resp.status_code >= 400 or error or body.get("ok") is False:
            return SyncResult(ok=False, error=str(error or f"HTTP {resp.status_code}"))
        return SyncResult(ok=True, modified=bool(body.get("modified", True)))


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"error": f"HTTP {resp.status_code}: {resp.text[:200]}"}
    return body if isinstance(body, dict) else {"error": f"unexpected answer {body!r:.200}"}
