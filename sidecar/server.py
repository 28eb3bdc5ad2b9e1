"""Run the sidecar: one uvicorn server on loopback for the HTTP API and the SDK serve path.

``serve`` is the process's main coroutine (``loopwright sidecar``); ``running`` runs the same
thing in a background thread, for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator

import uvicorn

from loopwright.http_errors import DEFAULT_MAX_BODY_BYTES, BodyLimit, Receive, Scope, Send
from loopwright.serve_guard import MAX_CALL_BYTES, ServeGuard

from .api import create_api
from .capabilities import CapabilityProvider
from .service import Sidecar
from .settings import SidecarSettings


class RootApp:
    """The serve path goes to the SDK app; everything else to the HTTP API. Each has its
    body cap (the engine's calls carry step outputs; API requests carry at most a source)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.fastapi = create_api(sidecar)  # routes may be added (the review's) before serving
        self.api = BodyLimit(self.fastapi, DEFAULT_MAX_BODY_BYTES)
        self.sdk = BodyLimit(ServeGuard(sidecar.app), MAX_CALL_BYTES)
        self.serve_path = sidecar.settings.serve_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == self.serve_path:
            await self.sdk(scope, receive, send)
        else:
            await self.api(scope, receive, send)


async def serve(
    settings: SidecarSettings,
    *,
    provider: CapabilityProvider | None = None,
    stop: asyncio.Event | None = None,
    ready: threading.Event | None = None,
    holder: list[Sidecar] | None = None,
    log_level: str = "warning",
) -> None:
    sidecar = Sidecar(settings, provider=provider)
    if holder is not None:
        holder.append(sidecar)
    root = RootApp(sidecar)
    if os.environ.get("LOOPWRIGHT_REVIEW", "off") == "on":  # `loopwright up` turns it on
        from review.surfaces import attach

        attach(sidecar, root.fastapi)
    config = uvicorn.Config(
        root,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve())
    stop = stop or asyncio.Event()
    try:
        while not server.started:
            if server_task.done():
                await server_task
                raise RuntimeError(f"the sidecar could not listen on {settings.origin}")
            await asyncio.sleep(0.01)
        await sidecar.start()
        if ready is not None:
            ready.set()
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({server_task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        server.should_exit = True
        await asyncio.gather(server_task, return_exceptions=True)
        await sidecar.close()


@contextlib.contextmanager
def running(
    settings: SidecarSettings, *, provider: CapabilityProvider | None = None
) -> Iterator[Sidecar]:
    """The sidecar in a background thread with its own event loop, until the block exits."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    holder: list[Sidecar] = []
    failure: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(
                serve(settings, provider=provider, stop=stop, ready=ready, holder=holder)
            )
        except BaseException as err:
            failure.append(err)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="sidecar", daemon=True)
    thread.start()
    ready.wait(timeout=120)
    if failure or not holder:
        raise RuntimeError(f"the sidecar did not start: {failure[:1]}")
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
