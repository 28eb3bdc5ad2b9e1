"""Shared harness for the benchmark scripts in bench/.

- `Workspace`: a temp dir plus every child process a benchmark starts; on exit (normal, error,
  Ctrl-C or SIGTERM) it stops each child by its own pid and deletes the temp dir.
- `Cluster`: one engine subprocess (``python -m engine``) and one SDK app subprocess
  (``bench/_app.py``, FastAPI + uvicorn + the official SDK), synced together.
- `Placement`: on 2+ cores the engine is pinned to the first CPU and the SDK app to the second;
  the driver (this process: event sender, baseline HTTP client) is pinned next to the engine,
  since in the baselines it plays the engine's role. ``--no-pin`` lets the OS schedule freely.
- Shared measurements (`capture_run`, `engine_closed_loop`, `bare_closed_loop`) and the report
  (`Result`, `Row`): a table of figure / baseline / ratio / target / pass, or JSON.
- `Profiler`: ``py-spy record`` against the engine pid, summarised as top self/inclusive frames.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
APP_SCRIPT = BENCH_DIR / "_app.py"
STANDIN_SCRIPT = BENCH_DIR / "_standin.py"
READY_TIMEOUT_S = 120.0  # engine start-up on a loaded 2-core machine can take 30 s+
RETRY_BUDGET_S = 150.0
_CHILDREN: list[Child] = []
_TEMP_DIRS: list[Path] = []
ALL_CPUS = sorted(os.sched_getaffinity(0))  # before the driver pins itself


# -- small helpers ------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak) of a process, in KiB, from /proc."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(rest.split()[0])
    return out


def fs_type(path: Path) -> str:
    """Filesystem type of the mount holding `path` (fsync cost depends on it)."""
    best, kind = "", "?"
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]  # guest time is already in user
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _proc_ticks(pid: int) -> int:
    """utime + stime jiffies of one process (not of its reaped children: they are counted
    separately, while they are alive)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


async def wait_for_quiet(max_wait_s: float, threshold: float = 0.10) -> float:
    """Before starting anything: wait (up to `max_wait_s`) until other processes use less than
    `threshold` of the machine's CPU over a 1 s sample. Returns the last busy share seen."""
    deadline = time.monotonic() + max_wait_s
    warned = False
    while True:
        b0, t0 = _cpu_ticks()
        own0 = _proc_ticks(os.getpid())
        await asyncio.sleep(1.0)
        b1, t1 = _cpu_ticks()
        busy = max(0.0, (b1 - b0 - (_proc_ticks(os.getpid()) - own0)) / max(1, t1 - t0))
        if busy < threshold or time.monotonic() >= deadline:
            if warned:
                log(f"other processes now use {100 * busy:.0f}% of the CPU; starting")
            return busy
        if not warned:
            log(
                f"other processes use {100 * busy:.0f}% of the CPU; waiting up to "
                f"{max_wait_s:.0f} s for a quieter machine (--quiet-wait 0 to skip)"
            )
            warned = True


async def quiet_attempts(
    ws: Workspace,
    label: str,
    measure: Callable[[], Awaitable[dict[str, Any]]],
    threshold: float = 0.15,
) -> dict[str, Any]:
    """Run `measure` until other processes took at most `threshold` of the CPU while it ran
    (at most 3 times; once with --quick); keep the quietest attempt, its share in "other_cpu"."""
    tries = 1 if ws.args.quick else 3
    best: dict[str, Any] | None = None
    attempt = 0
    for attempt in range(1, tries + 1):
        watch = CpuWatch()
        out = await measure()
        out["other_cpu"] = watch.foreign_share()
        out["attempts"] = attempt
        if best is None or out["other_cpu"] < best["other_cpu"]:
            best = out
        if out["other_cpu"] <= threshold:
            break
        if attempt >= tries or time.monotonic() > ws.retry_deadline:
            break
        log(f"{label}: other processes took {100 * out['other_cpu']:.0f}% of the CPU "
            "during the measurement; measuring again")  # fmt: skip
        await wait_for_quiet(20)
    assert best is not None
    best["attempts"] = attempt
    return best


class CpuWatch:
    """How much CPU *other* processes used while a benchmark ran (a noise warning)."""

    def __init__(self) -> None:
        self.start = _cpu_ticks()
        self.ours_start = _proc_ticks(os.getpid()) + sum(ch.cpu_ticks() for ch in _CHILDREN)

    def foreign_share(self) -> float:
        busy0, total0 = self.start
        busy1, total1 = _cpu_ticks()
        ours = _proc_ticks(os.getpid()) + sum(ch.cpu_ticks() for ch in _CHILDREN)
        ours -= self.ours_start
        total = total1 - total0
        return max(0.0, (busy1 - busy0 - ours) / total) if total > 0 else 0.0


# -- placement ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Placement:
    engine: frozenset[int] | None
    app: frozenset[int] | None
    driver: frozenset[int] | None

    @classmethod
    def plan(cls, pin: bool) -> Placement:
        cpus = ALL_CPUS
        if pin and len(cpus) >= 2:
            first, second = frozenset({cpus[0]}), frozenset({cpus[1]})
            return cls(first, second, first)
        return cls(None, None, None)

    def describe(self) -> str:
        ncpu = len(ALL_CPUS)
        if self.engine is None:
            return f"unpinned: engine, SDK app and driver share {ncpu} CPU(s) (OS scheduling)"

        def cpu(s: frozenset[int] | None) -> str:
            return "CPU" + ",".join(map(str, sorted(s or ())))

        return (
            f"pinned: engine -> {cpu(self.engine)}, SDK app -> {cpu(self.app)}, "
            f"driver (event sender / baseline client) -> {cpu(self.driver)}"
        )

    def pin_driver(self) -> None:
        if self.driver is not None:
            os.sched_setaffinity(0, self.driver)


# -- child processes ----------------------------------------------------------------------


class Child:
    """A subprocess started by a benchmark; stopped by its own pid only."""

    def __init__(
        self, name: str, cmd: list[str], log_path: Path, cpus: frozenset[int] | None
    ) -> None:
        self.name, self.log_path = name, log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
        env.update(NO_COLOR="1", PYTHONUNBUFFERED="1", _TYPER_STANDARD_TRACEBACK="1")
        with log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        _CHILDREN.append(self)
        self._ticks = 0
        if cpus is not None:
            # Right after fork/exec, long before the child starts any thread of its own;
            # threads it creates later inherit the mask.
            os.sched_setaffinity(self.proc.pid, cpus)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_ticks(self) -> int:
        """CPU jiffies used so far (frozen at the last reading once the process is gone)."""
        if self.proc.poll() is None:
            self._ticks = max(self._ticks, _proc_ticks(self.pid))
        return self._ticks

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.cpu_ticks()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]


@atexit.register
def _stop_children() -> None:
    for child in reversed(_CHILDREN):
        with contextlib.suppress(Exception):
            child.stop()


class Cluster:
    """An engine process and an SDK app process, synced; plus the REST calls benchmarks use."""

    def __init__(
        self,
        ws: Workspace,
        name: str = "main",
        durability: str = "normal",
        engine_args: tuple[str, ...] = (),
        standin: bool = False,
        standin_crons: int = 0,
        connect: bool = False,
    ) -> None:
        self.ws, self.name, self.durability = ws, name, durability
        self.connect = connect  # the SDK app takes its calls over Inngest Connect, not HTTP
        self.standin = standin  # the near-free SDK stand-in (_standin.py) instead of the SDK
        self.standin_crons = standin_crons  # cron functions the stand-in registers
        self.dir = ws.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.dir / "engine.db"
        self.engine_port, self.app_port = free_port(), free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.app_origin = f"http://127.0.0.1:{self.app_port}"
        self.serve_url = f"{self.app_origin}/api/inngest"
        self.engine_args = engine_args
        self.engine: Child | None = None
        self.app: Child | None = None
        self.runtime: dict[str, Any] = {}

    @property
    def http(self) -> aiohttp.ClientSession:
        return self.ws.http

    async def start(self) -> Cluster:
        cmd = [
            sys.executable, "-m", "engine", "--port", str(self.engine_port),
            "--db", str(self.db_path), "--retry-backoff", "1s",
            "--durability", self.durability, *self.engine_args,
            *os.environ.get("BENCH_ENGINE_ARGS", "").split(),  # A/B of engine flags
        ]  # fmt: skip
        self.engine = Child(f"engine[{self.name}]", cmd, self.dir / "engine.log",
                            self.ws.placement.engine)  # fmt: skip
        script = STANDIN_SCRIPT if self.standin else APP_SCRIPT
        app_cmd = [sys.executable, str(script), "--port", str(self.app_port),
                   "--engine", self.engine_url] + (["--connect"] if self.connect else [])  # fmt: skip
        self.app = Child(f"app[{self.name}]", app_cmd, self.dir / "app.log", self.ws.placement.app)
        await self._ready(self.engine, f"{self.engine_url}/health")
        await self._ready(self.app, f"{self.app_origin}/bench/dump?what=counters")
        status, body, data = await self._sync()
        if status != 200 or not data.get("ok"):
            raise RuntimeError(f"sync failed: {status} {body}\n{self.engine.log_tail()}")
        self.runtime = await self.app_reset()
        log(
            f"{self.name}: engine pid {self.engine.pid} ({self.durability}) on {self.engine_url}, "
            f"SDK app pid {self.app.pid} on {self.app_origin} "
            f"(uvicorn http={self.runtime.get('http')}, loop={self.runtime.get('loop')})"
        )
        return self

    async def _sync(self) -> tuple[int, Any, dict[str, Any]]:
        """(status, body, result) of the app's sync; a Connect worker syncs over its socket."""
        if self.standin:
            url = f"{self.app_origin}/bench/register"
            async with self.http.post(url, params={"crons": self.standin_crons}) as resp:
                body = await resp.json()
                return resp.status, body, body
        if self.connect:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                async with self.http.get(f"{self.engine_url}/v1/apps") as resp:
                    apps = (await resp.json()).get("data") or []
                if any(a.get("url") == "wss://connect" for a in apps):
                    return 200, apps, {"ok": True}
                await asyncio.sleep(0.05)
            return 0, "the app's Connect worker did not sync", {}
        url = f"{self.engine_url}/v1/apps/sync"
        async with self.http.post(url, json={"url": self.serve_url}) as resp:
            body = await resp.json()
            return resp.status, body, body.get("data") or {}

    async def _ready(self, child: Child, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{child.name} not ready after {READY_TIMEOUT_S}s:\n{child.log_tail()}")

    def stop(self) -> None:
        for child in (self.app, self.engine):
            if child is not None:
                child.stop()

    def check_alive(self) -> None:
        for child in (self.engine, self.app):
            if child is not None and not child.alive():
                raise RuntimeError(f"{child.name} died:\n{child.log_tail()}")

    # -- engine ------------------------------------------------------------------------

    async def send(self, events: list[dict[str, Any]]) -> list[str]:
        async with self.http.post(
            f"{self.engine_url}/e/NO_EVENT_KEY_SET", data=orjson.dumps(events),
            headers={"content-type": "application/json"},
        ) as resp:  # fmt: skip
            body = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"POST /e failed: {resp.status} {body}")
        return list(body["ids"])

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.engine_url}/v1/stats") as resp:
            return dict((await resp.json())["data"])

    async def count_runs(self, slug: str, status: str) -> int:
        params: dict[str, Any] = {"function": slug, "status": status, "limit": 500}
        total = 0
        while True:
            async with self.http.get(f"{self.engine_url}/v1/runs", params=params) as resp:
                page = await resp.json()
            total += len(page["data"])
            cursor = (page.get("metadata") or {}).get("next_cursor")
            if not cursor or not page["data"]:
                return total
            params["cursor"] = cursor

    async def quiesce(self, wait_s: float = 60.0) -> dict[str, Any]:
        """Wait until the engine has no live run and no call in flight."""
        deadline = time.monotonic() + wait_s
        while True:
            stats = await self.stats()
            if stats["live_runs"] == 0 and stats["calls_in_flight"] == 0:
                return stats
            if time.monotonic() > deadline:
                raise RuntimeError(f"engine did not go idle in {wait_s}s: {stats}")
            await asyncio.sleep(0.05)

    # -- SDK app -----------------------------------------------------------------------

    async def app_reset(self, capture: bool = False, timings: bool = False) -> dict[str, Any]:
        params = {"capture": int(capture), "timings": int(timings)}
        async with self.http.post(f"{self.app_origin}/bench/reset", params=params) as resp:
            return dict(await resp.json())

    async def app_dump(self, what: str) -> Any:
        async with self.http.get(f"{self.app_origin}/bench/dump", params={"what": what}) as resp:
            return orjson.loads(await resp.read())

    @contextlib.asynccontextmanager
    async def app_wait(
        self, *, key: str | None = None, counter: str | None = None, n: int = 0,
        wait_s: float = 60.0, soft: bool = False,
    ) -> AsyncIterator[Callable[[], Awaitable[Any]]]:  # fmt: skip
        """Register a waiter in the app *before* triggering anything; `await wait()` after.
        On timeout `wait()` raises, or returns None when `soft`."""
        params: dict[str, Any] = {"timeout": wait_s}
        if key is not None:
            params["key"] = key
        else:
            params.update(counter=counter, n=n)
        resp = await self.http.get(
            f"{self.app_origin}/bench/wait", params=params,
            timeout=aiohttp.ClientTimeout(total=wait_s + 30),
        )  # fmt: skip
        try:

            async def wait() -> Any:
                body = orjson.loads(await resp.read())
                if not body["ok"]:
                    self.check_alive()
                    if soft:
                        return None
                    raise RuntimeError(f"timed out after {wait_s}s waiting for {params}")
                return body["value"]

            yield wait
        finally:
            resp.release()

    async def trigger_and_wait(
        self, short: str, data: dict[str, Any], key: str, wait_s: float = 60.0
    ) -> Any:
        async with self.app_wait(key=key, wait_s=wait_s) as wait:
            await self.send([{"name": f"bench/{short}", "data": data}])
            return await wait()


class Workspace:
    """Temp dir, HTTP session and child processes of one benchmark run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.placement = Placement.plan(not args.no_pin)
        self.dir = Path(tempfile.mkdtemp(prefix="lw-bench-", dir=args.tmp))
        if not args.keep:
            _TEMP_DIRS.append(self.dir)
        self.clusters: list[Cluster] = []
        self._http: aiohttp.ClientSession | None = None
        # no re-measuring for noise once a script has run this long (keeps full runs <~3 min)
        self.retry_deadline = time.monotonic() + RETRY_BUDGET_S

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    def foreign_cpu(self) -> float:
        return self.cpu.foreign_share()

    async def __aenter__(self) -> Workspace:
        await wait_for_quiet(self.args.quiet_wait)
        self.cpu = CpuWatch()
        self.placement.pin_driver()
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=300)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for cluster in self.clusters:
            with contextlib.suppress(Exception):
                cluster.stop()
        if self._http is not None:
            await self._http.close()
        if self.args.keep:
            log(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    async def cluster(
        self,
        name: str = "main",
        durability: str = "normal",
        standin: bool = False,
        connect: bool = False,
    ) -> Cluster:
        cluster = Cluster(self, name, durability, standin=standin, connect=connect)
        self.clusters.append(cluster)
        return await cluster.start()


# -- shared measurements ------------------------------------------------------------------


BARE_HEADERS = ("content-type", "x-run-id", "x-inngest-step-id", "x-inngest-req-version")


@dataclasses.dataclass
class Captured:
    """One SDK call exactly as the engine sent it, ready to be replayed at the SDK."""

    url: str
    headers: dict[str, str]
    body: bytes


async def capture_run(c: Cluster, short: str, data: dict[str, Any], key: str) -> list[Captured]:
    """Run one function through the engine with capture on; return every call it made."""
    await c.app_reset(capture=True)
    await c.trigger_and_wait(short, data, key)
    await c.quiesce()
    raw = await c.app_dump("captured")
    await c.app_reset()
    return [
        Captured(
            url=f"{c.app_origin}{r['path']}?{r['query']}",
            headers={k: v for k, v in r["headers"].items() if k.lower() in BARE_HEADERS},
            body=r["body"].encode(),
        )
        for r in raw
    ]


async def bare_post(http: aiohttp.ClientSession, call: Captured, body: bytes | None = None) -> int:
    """POST a captured call straight to the SDK; returns the round trip in ns."""
    t0 = time.monotonic_ns()
    async with http.post(call.url, data=body or call.body, headers=call.headers) as resp:
        await resp.read()
        if resp.status not in (200, 206):
            raise RuntimeError(f"bare call answered {resp.status}")
    return time.monotonic_ns() - t0


def rate_in(times_ns: list[int], start_ns: int, end_ns: int) -> float:
    """Stamps per second inside [start, end)."""
    n = sum(1 for t in times_ns if start_ns <= t < end_ns)
    return n / ((end_ns - start_ns) / 1e9)


async def engine_closed_loop(
    c: Cluster,
    concurrency: int,
    steps: int,
    warm_s: float,
    window_s: float,
    fn: str = "seq",
    timings: bool = True,
) -> dict[str, Any]:
    """Keep `concurrency` runs of `fn` (`steps` trivial steps each) in flight: start them in one
    burst, and start a new one for each that finishes (in batches of concurrency/10). Returns
    steps/s inside a `window_s` window that opens `warm_s` after the burst. The runs still in
    flight at the end are abandoned: stop the cluster afterwards. `timings=False` leaves the
    app's per-call timing records off (then `in_app_ms` and `turnaround_ms` are NaN), for
    comparisons with an app that runs without them."""
    await c.quiesce()
    await c.app_reset(timings=timings)
    counter = f"{fn}-done"

    def events(k: int) -> list[dict[str, Any]]:
        return [{"name": f"bench/{fn}", "data": {"n": steps}} for _ in range(k)]

    async def send(k: int) -> None:
        for i in range(0, k, 1000):
            await c.send(events(min(1000, k - i)))

    stats: dict[str, dict[str, Any]] = {}

    async def snapshot(at_ns: int, label: str) -> None:
        await asyncio.sleep(max(0.0, (at_ns - time.monotonic_ns()) / 1e9))
        assert c.engine is not None and c.app is not None
        cpu = {"engine_ticks": c.engine.cpu_ticks(), "app_ticks": c.app.cpu_ticks()}
        stats[label] = {**await c.stats(), **cpu}

    t0 = time.monotonic_ns()
    w0 = t0 + int(warm_s * 1e9)
    w1 = w0 + int(window_s * 1e9)
    snaps = [asyncio.create_task(snapshot(w0, "start")), asyncio.create_task(snapshot(w1, "end"))]
    await send(concurrency)
    started, done = concurrency, 0
    batch = max(1, concurrency // 10)
    while (left := (w1 - time.monotonic_ns()) / 1e9) > 0:
        async with c.app_wait(counter=counter, n=done + batch, wait_s=left, soft=True) as wait:
            n = await wait()
        if n is None:
            break
        await send(n - done)
        started += n - done
        done = n
    await asyncio.gather(*snaps)
    times = [t for _, t in await c.app_dump("steps")]
    turnaround, in_app = split_latency(await c.app_dump("timings"), w0, w1)
    a, b = stats["start"], stats["end"]
    steps_per_s = rate_in(times, w0, w1)
    hz = os.sysconf("SC_CLK_TCK")
    engine_cpu = (b["engine_ticks"] - a["engine_ticks"]) / hz / window_s
    app_cpu = (b["app_ticks"] - a["app_ticks"]) / hz / window_s
    commits = b["commits"] - a["commits"]
    jobs = b["jobs_committed"] - a["jobs_committed"]
    in_flight = b["calls_in_flight"] + b["calls_waiting"]
    return {
        "steps_per_s": steps_per_s,
        "engine_cpu": engine_cpu,  # cores busy
        "app_cpu": app_cpu,
        "engine_cpu_ms_per_step": 1000 * engine_cpu / steps_per_s if steps_per_s else math.nan,
        "app_cpu_ms_per_step": 1000 * app_cpu / steps_per_s if steps_per_s else math.nan,
        "calls_per_s": (b["calls_sent"] - a["calls_sent"]) / window_s,
        "in_app_ms": median(in_app),
        "turnaround_ms": median(turnaround),
        "commits_per_s": commits / window_s,
        "jobs_per_commit": jobs / commits if commits else float("nan"),
        "runs_started": started,
        "runs_done": done,
        "calls_open_at_end": in_flight,
        "window_s": window_s,
    }


def split_latency(timings: list[Any], w0: int, w1: int) -> tuple[list[float], list[float]]:
    """From the app's per-call (run id, entered, answered) records inside [w0, w1): the engine
    turnaround between consecutive calls of a run, and the time each call spent in the app."""
    by_run: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    in_app = []
    for run_id, t_in, t_out in timings:
        if w0 <= t_in < w1:
            by_run[run_id].append((t_in, t_out))
            in_app.append((t_out - t_in) / 1e6)
    turnaround = [
        (b[0] - a[1]) / 1e6
        for calls in by_run.values()
        for a, b in itertools.pairwise(sorted(calls))
    ]
    return turnaround, in_app


async def bare_closed_loop(
    c: Cluster, calls: list[Captured], concurrency: int, warm_s: float, window_s: float
) -> dict[str, Any]:
    """The SDK app alone: `concurrency` clients replaying captured step calls back to back;
    steps/s in the same kind of window as `engine_closed_loop`."""
    await c.app_reset(timings=True)
    t0 = time.monotonic_ns()
    w0 = t0 + int(warm_s * 1e9)
    w1 = w0 + int(window_s * 1e9)

    async def worker(offset: int) -> None:
        i = offset
        while time.monotonic_ns() < w1:
            await bare_post(c.http, calls[i % len(calls)])
            i += 1

    assert c.app is not None
    ticks: list[int] = []

    async def tick_at(at_ns: int) -> None:
        await asyncio.sleep(max(0.0, (at_ns - time.monotonic_ns()) / 1e9))
        assert c.app is not None
        ticks.append(c.app.cpu_ticks())

    await asyncio.gather(tick_at(w0), tick_at(w1), *(worker(i) for i in range(concurrency)))
    times = [t for _, t in await c.app_dump("steps")]
    _, in_app = split_latency(await c.app_dump("timings"), w0, w1)
    rate = rate_in(times, w0, w1)
    app_cpu = (ticks[1] - ticks[0]) / os.sysconf("SC_CLK_TCK") / window_s
    return {
        "steps_per_s": rate,
        "app_cpu": app_cpu,
        "app_cpu_ms_per_step": 1000 * app_cpu / rate if rate else math.nan,
        "in_app_ms": median(in_app),
        "window_s": window_s,
    }


# -- profiling ----------------------------------------------------------------------------


class Profiler:
    """`py-spy record` on the engine while a workload runs; summarised as top frames."""

    def __init__(self, ws: Workspace, pid: int, label: str) -> None:
        self.ws, self.pid, self.label = ws, pid, label
        self.out = ws.dir / f"profile-{label}.txt"
        self.extra: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> str | None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        return exe if Path(exe).exists() else None

    async def __aenter__(self) -> Profiler:
        exe = self.available()
        if exe is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self._proc = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(self.pid), "--rate", "250", "--format", "raw",
            "--output", str(self.out), "--nonblocking", "--threads", *self.extra,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1.0)  # let py-spy attach
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                await asyncio.wait_for(self._proc.wait(), 30)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()

    def summary(self, top: int = 12) -> list[str]:
        """Top frames by self time and by inclusive time, per thread group."""
        if not self.out.exists():
            return [f"profile {self.label}: py-spy wrote nothing"]
        self_count: Counter[str] = Counter()
        incl: Counter[str] = Counter()
        threads: Counter[str] = Counter()
        total = 0
        for line in self.out.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            thread, frames = frames[0], frames[1:]
            total += count
            threads[_thread_label(thread)] += count
            if frames:
                self_count[_frame(frames[-1])] += count
            for frame in {_frame(f) for f in frames}:
                incl[frame] += count
        if total == 0:
            return [f"profile {self.label}: no samples"]
        lines = [f"profile {self.label}: {total} on-CPU samples of the engine (py-spy, 250 Hz)"]
        lines.append(
            "  by thread: "
            + ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in threads.most_common(4))
        )
        lines.append("  top self time:")
        lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in self_count.most_common(top)]
        lines.append("  top inclusive time (engine/aiohttp/sqlite frames):")
        interesting = [
            (f, n)
            for f, n in incl.most_common()
            if any(k in f for k in ("engine/", "aiohttp/", "sqlite", "asyncio/"))
        ]
        lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in interesting[:top]]
        return lines


def _frame(text: str) -> str:
    """'func (path/to/file.py:123)' -> 'func (to/file.py)'; keeps the last two path parts."""
    name, _, where = text.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    short = "/".join(Path(path).parts[-2:]) if path else "?"
    return f"{name} ({short})"


def _thread_label(text: str) -> str:
    """py-spy --threads prefixes each stack with 'thread (TID): NAME'; pools get NAME_<n>."""
    name = text.split(": ", 1)[-1].strip()
    base, _, tail = name.rpartition("_")
    return base if base and tail.isdigit() else name


# -- reporting ----------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    metric: str
    figure: float
    unit: str
    baseline: float | None = None
    baseline_unit: str | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: informational row

    def cells(self) -> list[str]:
        base = "" if self.baseline is None else _fmt(self.baseline, self.baseline_unit or self.unit)
        ratio = "" if self.ratio is None else _fmt_ratio(self.ratio)
        result = {True: "PASS", False: "MISS", None: "info"}[self.passed]
        return [self.metric, _fmt(self.figure, self.unit), base, ratio, self.target, result]


def _fmt_ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit in ("ms",):
        return f"{value:.3f} ms"
    if unit in ("steps/s", "calls/s"):
        return f"{value:,.0f} {unit}"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:,.3g} {unit}".strip()


@dataclasses.dataclass
class Result:
    name: str
    title: str
    rows: list[Row] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    profile: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def table(self, meta: dict[str, Any]) -> str:
        header = ["metric", "figure", "baseline", "ratio", "target", "result"]
        body = [r.cells() for r in self.rows]
        widths = [max(len(x) for x in col) for col in zip(header, *body, strict=False)]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [
            f"== {self.name}: {self.title}",
            f"   {meta['date']} | {meta['machine']} | {'quick' if meta['quick'] else 'full'} run"
            f" | {meta['elapsed_s']:.0f} s",
            f"   engine @ {meta['engine']} | placement: {meta['placement']}",
            f"   other load: {100 * meta['other_cpu']:.0f}% of all CPU time went to processes "
            f"outside this benchmark (1-min loadavg {meta['loadavg']})",
            "",
            line(header),
            line(["-" * w for w in widths]),
            *[line(c) for c in body],
        ]
        if self.notes:
            out += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        if self.profile:
            out += ["", *self.profile]
        return "\n".join(out)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        kib = int(f.readline().split()[1])
        mem = f", {kib / 2**20:.0f} GiB"
    ncpu = len(ALL_CPUS)
    return f"{ncpu} cores ({model}){mem}, Python {platform.python_version()}"


def engine_revision() -> str:
    """Short commit of the repo, plus '+dirty' when engine/ has uncommitted changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "engine"], cwd=REPO, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller workload (about 30 s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--no-pin", action="store_true", help="do not pin engine/app/driver to separate CPUs"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, repeat the engine workload under py-spy and print top frames",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, DB, profiles)")
    p.add_argument(
        "--quiet-wait", type=float, default=None, metavar="S",
        help="wait up to S s for other processes to leave the CPU idle before starting "
        "(default 60, or 15 with --quick; 0 skips)",
    )  # fmt: skip
    p.add_argument("--tmp", default=None, help="parent dir for the temp dir (default: $TMPDIR)")
    return p


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(
    name: str,
    description: str,
    bench: Callable[[Workspace], Awaitable[Result]],
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse args, run `bench` in a Workspace, print the table (or JSON). Exit 1 only if the
    benchmark could not run; a missed target still exits 0."""
    p = parser(description)
    if configure is not None:
        configure(p)
    args = p.parse_args()
    if args.quiet_wait is None:
        args.quiet_wait = 15.0 if args.quick else 60.0
    signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()

    async def run() -> tuple[Result, str, float]:
        async with Workspace(args) as ws:
            result = await bench(ws)
            return result, ws.placement.describe(), ws.foreign_cpu()

    try:
        try:
            import uvloop

            result, placement, foreign = uvloop.run(run())
        except ImportError:
            result, placement, foreign = asyncio.run(run())
    except (Exception, KeyboardInterrupt) as exc:
        traceback.print_exc()
        print(f"{name}: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"bench": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    finally:
        _stop_children()
        for path in _TEMP_DIRS:
            shutil.rmtree(path, ignore_errors=True)
    meta = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "quick": args.quick,
        "elapsed_s": time.monotonic() - started,
        "placement": placement,
        "engine": engine_revision(),
        "other_cpu": foreign,
        "loadavg": Path("/proc/loadavg").read_text().split()[0],
    }
    if foreign > 0.05:
        result.notes.append(
            f"WARNING: other processes used {100 * foreign:.0f}% of the machine's CPU during "
            "this run; absolute figures are pessimistic, ratios (measured interleaved) less so."
        )
    if args.json:
        print(
            json.dumps(
                _no_nan({
                    "bench": name, "ok": True, "title": result.title, **meta,
                    "rows": [dataclasses.asdict(r) for r in result.rows],
                    "notes": result.notes, "profile": result.profile, "extra": result.extra,
                }),
                indent=2, default=str,
            )
        )  # fmt: skip
    else:
        print(result.table(meta))
    return 0


def _no_nan(value: Any) -> Any:
    """NaN is not JSON: make it null (recursively)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _no_nan(dataclasses.asdict(value))
    return value


def group_by_run(pairs: list[tuple[str, int]]) -> dict[str, list[int]]:
    out: defaultdict[str, list[int]] = defaultdict(list)
    for run_id, t in pairs:
        out[run_id].append(t)
    return {k: sorted(v) for k, v in out.items()}
