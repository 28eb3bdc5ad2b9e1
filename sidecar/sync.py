"""Sync the sidecar's app with the engine, through the platform's one engine client.

``ClientSync`` asks the engine client to register the serve URL: the embedded engine is asked
(``POST /v1/apps/sync``, signed when a signing key is set); real Inngest, or ``put=True``
(``--sync-mode put``), gets a ``PUT`` of the serve URL, as the Dev Server and Cloud send.
Either way the engine's reply body decides (the SDK never raises on a refused register).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from loopwright.engine_client import EngineClient, SyncResult


class Syncer(Protocol):
    async def sync(self) -> SyncResult: ...

    async def aclose(self) -> None: ...


class ClientSync:
    def __init__(self, client: EngineClient, serve_url: str, *, put: bool = False) -> None:
        self.client = client
        self.serve_url = serve_url
        self.put = put

    async def sync(self) -> SyncResult:
        # In a thread: the engine PUTs our own serve URL meanwhile, served by this loop.
        return await asyncio.to_thread(self.client.sync, self.serve_url, put=self.put)

    async def aclose(self) -> None:
        self.client.close()


__all__ = ["ClientSync", "SyncResult", "Syncer"]
