"""Run the engine's HTTP server until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from .api import build_app
from .config import EngineConfig
from .core import Engine
from .heap import freeze_start_up_heap

log = logging.getLogger("loopwright.engine")


async def serve(config: EngineConfig, ready: asyncio.Event | None = None) -> None:
    engine = Engine(config)
    runner = web.AppRunner(build_app(engine), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=1024, reuse_address=True)
    await site.start()
    await engine.start()
    log.info(
        "engine listening on %s (db %s, %s)", config.origin, config.db_path, config.server_kind
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await engine.stop()


def run(config: EngineConfig) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is optional; asyncio's loop works, only slower
        pass
    # Here, not in serve(): tests run serve() inside their own process.
    freeze_start_up_heap()
    asyncio.run(serve(config))
