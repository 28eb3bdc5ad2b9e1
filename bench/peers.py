"""Side by side with a real peer in the same run: Loopwright vs Restate on 20-step runs.

Method
- Both systems run in this one process tree, on this machine, inside a network namespace that
  has only loopback (the script re-runs itself under `unshare -n`; it needs root): Restate's
  server tries to reach the internet at start-up, and no traffic may leave the machine. Its
  telemetry is switched off in its config. The engine / Restate server is pinned to CPU0, the
  SDK app (inngest 0.5.19 under uvicorn / restate-sdk under hypercorn) to CPU1, the driver to
  CPU0.
- Same workload: `seq(n=20)`, 20 sequential steps whose bodies stamp CLOCK_MONOTONIC.
  - per step: R runs one at a time (default 30; `--quick` 6); gaps between consecutive stamps
    of a run; p50 / p99.
  - event -> first step: the same runs; driver stamp before `POST /e` (Loopwright) or
    `POST /bench/seq/send` on Restate's ingress, to the run's first step stamp; p50.
  - steady throughput: C runs in flight (default 100), each replaced when it finishes, for a
    window of `--window` s (default 30; `--quick` 5) after `--warm` s (default 5; 2); step
    stamps per second; CPU per step of the server and of the app from /proc.
- Modes: Loopwright `--durability normal` (default) and `full` (fsync at every group commit),
  and `normal` with the SDK app connected by Inngest Connect (`inngest.connect`, a WebSocket)
  instead of serving HTTP, against Restate's defaults (its WAL is fsynced).
- Restate comes from npm `@restatedev/restate-server` 1.7.12 (it ships its binary) installed
  under bench/.peers (gitignored), or `RESTATE_SERVER=/path/to/restate-server`, and PyPI
  `restate-sdk` 1.3.0 with `hypercorn`. When they are missing the script says how to install
  them and stops (exit 1). Install:
      npm install --prefix bench/.peers @restatedev/restate-server@1.7.12
      .venv/bin/pip install restate-sdk==1.3.0 hypercorn
- Restate listens on its default ports (8080 ingress, 9070 admin, 5122 node): inside the new
  namespace nothing else can hold them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as c
import aiohttp
from _common import Child, Cluster, Result, Row, Workspace, log

STEPS = 20
BENCH_DIR = Path(__file__).resolve().parent
NPM_BINARY = (BENCH_DIR / ".peers/node_modules/@restatedev/restate-server-linux-x64/bin/"
              "restate-server")  # fmt: skip
INGRESS, ADMIN = "http://127.0.0.1:8080", "http://127.0.0.1:9070"
NETNS_MARK = "LW_PEERS_NETNS"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=None, help="sequential runs (30; quick 6)")
    p.add_argument("--concurrency", type=int, default=100, help="runs in flight (100)")
    p.add_argument("--warm", type=float, default=None, help="warm-up s (5; quick 2)")
    p.add_argument("--window", type=float, default=None, help="throughput window s (30; quick 5)")


def restate_binary() -> str | None:
    path = os.environ.get("RESTATE_SERVER") or (str(NPM_BINARY) if NPM_BINARY.exists() else None)
    return path if path and Path(path).exists() else None


def missing() -> str | None:
    problems = []
    if restate_binary() is None:
        problems.append("restate-server (npm install --prefix bench/.peers "
                        "@restatedev/restate-server@1.7.12)")  # fmt: skip
    try:
        import hypercorn  # noqa: F401
        import restate  # noqa: F401
    except ImportError:
        problems.append("restate-sdk and hypercorn (.venv/bin/pip install restate-sdk==1.3.0 "
                        "hypercorn)")  # fmt: skip
    return "; ".join(problems) or None


def reexec_in_netns() -> None:
    """Run this script again inside a new network namespace with only loopback, up."""
    if os.environ.get(NETNS_MARK) == "1":
        return
    if shutil.which("unshare") is None or os.geteuid() != 0:
        sys.exit("peers: needs root and `unshare` to run Restate in a loopback-only network "
                 "namespace (it calls out to the internet at start-up); not run")  # fmt: skip
    script = " ".join(["exec", sys.executable, *map(_quote, sys.argv)])
    env = {**os.environ, NETNS_MARK: "1"}
    proc = subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && {script}"],
                          env=env, check=False)  # fmt: skip
    sys.exit(proc.returncode)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


class RestateCluster:
    """restate-server (CPU0) + the restate-sdk app (CPU1), the deployment registered."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.dir = ws.dir / "restate"
        self.dir.mkdir()
        self.app_port = c.free_port()
        self.app_origin = f"http://127.0.0.1:{self.app_port}"
        self.server: Child | None = None
        self.app: Child | None = None

    async def start(self) -> RestateCluster:
        cfg = self.dir / "restate.toml"
        cfg.write_text(f'disable-telemetry = true\nbase-dir = "{self.dir / "data"}"\n'
                       'log-filter = "warn"\n')  # fmt: skip
        binary = restate_binary()
        assert binary is not None
        self.server = Child("restate-server", [binary, "--config-file", str(cfg)],
                            self.dir / "server.log", self.ws.placement.engine)  # fmt: skip
        self.app = Child("restate-app", [sys.executable, str(BENCH_DIR / "_restate_app.py"),
                                         "--port", str(self.app_port)],
                         self.dir / "app.log", self.ws.placement.app)  # fmt: skip
        http = self.ws.http
        for url in (f"{ADMIN}/health", f"{self.app_origin}/bench/dump?what=counters"):
            await self._ready(url)
        async with http.post(f"{ADMIN}/deployments", json={"uri": self.app_origin}) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"Restate deployment: {resp.status} {await resp.text()}")
        log(f"restate: server pid {self.server.pid}, SDK app pid {self.app.pid} "
            f"on {self.app_origin}")  # fmt: skip
        return self

    async def _ready(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for child in (self.server, self.app):
                if child is not None and not child.alive():
                    raise RuntimeError(f"{child.name} exited:\n{child.log_tail()}")
            try:
                async with self.ws.http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"not ready: {url}")

    def stop(self) -> None:
        for child in (self.app, self.server):
            if child is not None:
                child.stop()


async def dump(http: aiohttp.ClientSession, origin: str, what: str) -> Any:
    async with http.get(f"{origin}/bench/dump", params={"what": what}) as resp:
        return await resp.json(content_type=None)


async def reset(http: aiohttp.ClientSession, origin: str) -> None:
    async with http.post(f"{origin}/bench/reset", params={"timings": 0}) as resp:
        await resp.read()


async def sequential(
    http: aiohttp.ClientSession, origin: str, runs: int, send: Any
) -> dict[str, list[float]]:
    """`runs` runs one at a time: per-step gaps and event -> first step (ms)."""
    await reset(http, origin)
    gaps, firsts = [], []
    for i in range(runs):
        await reset(http, origin)
        t0 = time.monotonic_ns()
        await send()
        deadline = time.monotonic() + 60
        while True:
            counters = await dump(http, origin, "counters")
            if counters.get("seq-done", 0) >= 1:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {i} did not finish in 60 s")
            await asyncio.sleep(0.01)
        stamps = sorted(t for _, t in await dump(http, origin, "steps"))
        if len(stamps) != STEPS:
            raise RuntimeError(f"run {i}: {len(stamps)} step stamps, expected {STEPS}")
        firsts.append((stamps[0] - t0) / 1e6)
        gaps += [(b - a) / 1e6 for a, b in itertools.pairwise(stamps)]
    return {"gaps": gaps, "firsts": firsts}


async def restate_closed_loop(
    rc: RestateCluster, concurrency: int, warm: float, window: float
) -> dict[str, Any]:
    http = rc.ws.http
    await reset(http, rc.app_origin)
    t0 = time.monotonic_ns()
    w0, w1 = t0 + int(warm * 1e9), t0 + int((warm + window) * 1e9)
    ticks: dict[str, tuple[int, int]] = {}

    async def tick(at: int, label: str) -> None:
        await asyncio.sleep(max(0.0, (at - time.monotonic_ns()) / 1e9))
        assert rc.server is not None and rc.app is not None
        ticks[label] = (rc.server.cpu_ticks(), rc.app.cpu_ticks())

    async def worker() -> None:
        while time.monotonic_ns() < w1:
            async with http.post(f"{INGRESS}/bench/seq", json=STEPS) as resp:
                await resp.read()

    await asyncio.gather(tick(w0, "a"), tick(w1, "b"), *(worker() for _ in range(concurrency)))
    stamps = [t for _, t in await dump(http, rc.app_origin, "steps")]
    rate = c.rate_in(stamps, w0, w1)
    hz = os.sysconf("SC_CLK_TCK")
    server = (ticks["b"][0] - ticks["a"][0]) / hz / window
    app = (ticks["b"][1] - ticks["a"][1]) / hz / window
    return {"steps_per_s": rate, "engine_cpu_ms_per_step": 1000 * server / rate,
            "app_cpu_ms_per_step": 1000 * app / rate}  # fmt: skip


async def loopwright(
    ws: Workspace, durability: str, runs: int, connect: bool = False
) -> dict[str, Any]:
    warm, window = durations(ws)
    name = f"lw-{durability}" + ("-connect" if connect else "")
    cl: Cluster = await ws.cluster(name, durability=durability, connect=connect)
    try:
        await c.capture_run(cl, "seq", {"n": STEPS, "tag": "warm"}, "done:warm")

        async def send() -> None:
            await cl.send([{"name": "bench/seq", "data": {"n": STEPS}}])

        log(f"{name}: {runs} sequential runs of {STEPS} steps")
        seq = await sequential(ws.http, cl.app_origin, runs, send)
        log(f"{name}: {ws.args.concurrency} runs in flight, {window:g} s")
        # Timing records off, as in Restate's loop: both apps carry the same instrumentation.
        loop = await c.engine_closed_loop(
            cl, ws.args.concurrency, STEPS, warm, window, timings=False
        )
        return {**seq, **loop}
    finally:
        cl.stop()


async def restate(ws: Workspace, runs: int) -> dict[str, Any]:
    warm, window = durations(ws)
    rc = RestateCluster(ws)
    try:
        await rc.start()

        async def send() -> None:
            async with ws.http.post(f"{INGRESS}/bench/seq/send", json=STEPS) as resp:
                if resp.status >= 300:
                    raise RuntimeError(f"Restate ingress: {resp.status} {await resp.text()}")

        for _ in range(2):  # warm-up
            async with ws.http.post(f"{INGRESS}/bench/seq", json=STEPS) as resp:
                await resp.read()
        log(f"restate: {runs} sequential runs of {STEPS} steps")
        seq = await sequential(ws.http, rc.app_origin, runs, send)
        log(f"restate: {ws.args.concurrency} runs in flight, {window:g} s")
        loop = await restate_closed_loop(rc, ws.args.concurrency, warm, window)
        return {**seq, **loop}
    finally:
        rc.stop()


def durations(ws: Workspace) -> tuple[float, float]:
    warm = ws.args.warm if ws.args.warm is not None else (2.0 if ws.args.quick else 5.0)
    window = ws.args.window if ws.args.window is not None else (5.0 if ws.args.quick else 30.0)
    return warm, window


async def bench(ws: Workspace) -> Result:
    runs = ws.args.runs or (6 if ws.args.quick else 30)
    rs = await restate(ws, runs)
    lw = {mode: await loopwright(ws, mode, runs) for mode in ("normal", "full")}
    lw["connect"] = await loopwright(ws, "normal", runs, connect=True)
    p = c.percentile
    res = Result("peers", f"Loopwright vs Restate 1.7.12 (restate-sdk), {STEPS}-step runs")
    for mode, r in lw.items():
        tag = f"[{mode}] "
        metrics = [
            ("per step p50", p(r["gaps"], 50), p(rs["gaps"], 50), "ms", True),
            ("per step p99", p(r["gaps"], 99), p(rs["gaps"], 99), "ms", True),
            ("event -> first step p50", p(r["firsts"], 50), p(rs["firsts"], 50), "ms", True),
            ("steady throughput", r["steps_per_s"], rs["steps_per_s"], "steps/s", False),
            ("server CPU per step", r["engine_cpu_ms_per_step"], rs["engine_cpu_ms_per_step"],
             "ms", True),
            ("SDK app CPU per step", r["app_cpu_ms_per_step"], rs["app_cpu_ms_per_step"], "ms",
             True),
        ]  # fmt: skip
        for name, ours, theirs, unit, lower_is_better in metrics:
            ahead = ours <= theirs if lower_is_better else ours >= theirs
            res.rows.append(Row(tag + name, ours, unit, theirs, unit, ours / theirs,
                                "ahead of Restate", ahead))  # fmt: skip
    res.notes += [
        "figure = Loopwright, baseline = Restate (defaults: WAL fsynced) measured in the same "
        "run; [normal] / [full] = Loopwright's --durability, the SDK app served over HTTP; "
        "[connect] = --durability normal, the SDK app taking its calls over an Inngest Connect "
        "socket (inngest.connect).",
        f"{runs} sequential runs per system; throughput with {ws.args.concurrency} runs in "
        f"flight, {durations(ws)[1]:g} s window after {durations(ws)[0]:g} s warm-up.",
        "Restate's steady loop replaces each run as its request-response call returns; "
        "Loopwright's replaces finished runs in batches of C/10 (bench/_common.engine_closed_loop).",
    ]
    return res


def main() -> int:
    problem = missing()
    if problem:
        print(f"peers: Restate is not installed, so nothing was compared. Missing: {problem}",
              file=sys.stderr)  # fmt: skip
        return 1
    reexec_in_netns()
    return c.main("peers", __doc__.splitlines()[0], bench, configure)


if __name__ == "__main__":
    sys.exit(main())
