"""The SDK app's CPU per call for the request the engine sends now vs the one it sent before.

Method
- One run of `seq` with 100 steps is captured byte for byte (the engine's requests as they are
  now: no aiohttp default headers, `ctx.stack` left out for the Python SDK, which ignores it).
- "Before" variant of every call: the same body with `ctx.stack` filled in (the completed step
  ids in order, as the engine sent it to every SDK before) and aiohttp's default headers
  (Accept, Accept-Encoding, User-Agent) added.
- Both variants are replayed straight at the SDK app by 10 concurrent clients in alternating
  rounds (4 s each; `--quick`: 2 rounds, otherwise 6); figure = SDK app CPU per call (from
  /proc), median over rounds. Ratio now/before < 1 means the app spends less per call.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import _common as c
import aiohttp
import orjson
from _common import Captured, Cluster, Result, Row, Workspace, log

STEPS = 100
DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate",
                   "User-Agent": "Python/3.11 aiohttp/3.14.5"}  # fmt: skip


def with_stack(call: Captured) -> Captured:
    body = orjson.loads(call.body)
    steps = list(body["steps"])
    body["ctx"]["stack"] = {"stack": steps, "current": len(steps)}
    return Captured(call.url, {**call.headers, **DEFAULT_HEADERS}, orjson.dumps(body))


async def replay(
    cl: Cluster, http: aiohttp.ClientSession, calls: list[Captured], seconds: float
) -> float:
    """App CPU ms per call while 10 clients replay `calls` for `seconds`."""
    assert cl.app is not None
    ticks0, end, done = cl.app.cpu_ticks(), time.monotonic() + seconds, 0

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.monotonic() < end:
            call = calls[i % len(calls)]
            async with http.post(call.url, data=call.body, headers=call.headers) as resp:
                await resp.read()
            done, i = done + 1, i + 1

    await asyncio.gather(*(worker(i) for i in range(10)))
    return (cl.app.cpu_ticks() - ticks0) / os.sysconf("SC_CLK_TCK") / max(1, done) * 1000


async def bench(ws: Workspace) -> Result:
    cl = await ws.cluster()
    now = (await c.capture_run(cl, "seq", {"n": STEPS, "tag": "cap"}, "done:cap"))[1:STEPS]
    before = [with_stack(call) for call in now]
    rounds = 2 if ws.args.quick else 6
    cpu_now, cpu_before = [], []
    async with aiohttp.ClientSession(skip_auto_headers=tuple(DEFAULT_HEADERS)) as http:
        for r in range(rounds):
            cpu_before.append(await replay(cl, http, before, 4.0))
            cpu_now.append(await replay(cl, http, now, 4.0))
            log(f"round {r + 1}/{rounds}: before {cpu_before[-1]:.3f}, now {cpu_now[-1]:.3f} "
                "ms CPU per call")  # fmt: skip
    res = Result("sdk_request_cost", __doc__.splitlines()[0])
    a, b = c.median(cpu_now), c.median(cpu_before)
    res.rows.append(Row("SDK app CPU per call, request now vs before", a, "ms", b, "ms", a / b))
    size_now = sum(len(x.body) for x in now) / len(now)
    size_before = sum(len(x.body) for x in before) / len(before)
    res.rows.append(Row("mean request body, now vs before", size_now, "B", size_before, "B",
                        size_now / size_before))  # fmt: skip
    res.notes.append(f"calls 2..{STEPS} of one {STEPS}-step run; {rounds} alternating rounds.")
    return res


if __name__ == "__main__":
    sys.exit(c.main("sdk_request_cost", __doc__.splitlines()[0], bench))
