"""The peer's SDK app for bench/peers.py: Restate's Python SDK (`restate-sdk`) under hypercorn.

One service, `bench`, with `seq(n)`: n sequential `ctx.run` steps (each journaled by the
Restate server, as each Inngest step is by the engine); every step body stamps
``time.monotonic_ns()`` exactly like ``_app.py``'s ``seq``, and the end of a run bumps the
counter ``seq-done``. The same `/bench/*` routes as ``_app.py`` (its `Probe` middleware) let the
driver read the stamps and wait on the counter.

Run: ``python bench/_restate_app.py --port P`` (HTTP/2 cleartext and HTTP/1.1 on one port).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import _app
import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config

svc = restate.Service("bench")


@svc.handler()
async def seq(ctx: restate.Context, n: int) -> int:
    invocation = ctx.request().id

    async def stamp() -> int:
        return _app.PROBE.step(invocation)

    for i in range(n):
        await ctx.run_typed(f"s{i}", stamp)
    _app.PROBE.bump("seq-done")
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _app.PROBE = _app.Probe(restate.app(services=[svc]))
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.loglevel = "WARNING"
    config.accesslog = None
    config.backlog = 4096

    async def run() -> None:
        await serve(_app.PROBE, config)  # type: ignore[arg-type]

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


if __name__ == "__main__":
    main()
