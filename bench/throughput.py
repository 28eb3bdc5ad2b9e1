"""Throughput in steady state: steps/s with 100 and 1,000 concurrent runs, and the engine-bound
ceiling measured with an SDK stand-in that costs next to nothing.

Method
- Figure: closed loop. C runs of `seq` (10 trivial sequential steps each) are started in one
  burst (POST /e with an array) and a new run is started for each one that finishes (in batches
  of C/10), so C runs stay in flight and thousands of runs start and finish inside the window.
  Every step body stamps CLOCK_MONOTONIC inside the SDK app; throughput = step bodies per second
  inside a window of `--window` s (default 60; `--quick` 5) that opens `--warm` s (default 10;
  `--quick` 2) after the burst, i.e. steady state, not the first seconds of a burst.
- Engine-bound ceiling (measured, not computed): the same closed loop against `_standin.py`, a
  raw-asyncio process that answers the execution protocol like the SDK (206 StepRun until the
  run has its n memos, then 200) for a few microseconds per call, so the engine's core is the
  only limit.
- Baseline: the SDK app alone. One run's calls are captured byte for byte; C concurrent aiohttp
  clients replay them straight at the SDK endpoint, back to back, measured the same way. That is
  the most the SDK app (one process, one core) serves, so engine/bare is the share of the SDK's
  ceiling the engine reaches.
- Over Connect (skip with `--no-connect`): the same closed loop with the same SDK app taking its
  calls over an Inngest Connect socket (`inngest.connect`) instead of serving HTTP.
- Every measurement gets a fresh engine + app pair (nothing left over from the previous one),
  and is repeated (full runs: up to 3 times while the 150 s retry budget lasts, the quietest
  kept) when other processes on the machine took more than 15% of the CPU while it ran.
- Targets (from the issue): >= 1,000 steps/s at 100 and at 1,000 concurrent runs in steady
  state.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import _common as c
from _common import Result, Row, Workspace, log

TARGET = 1000.0
STEPS = 10


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warm",
        type=float,
        default=None,
        metavar="S",
        help="warm-up before each window (default 10 s; --quick 2 s)",
    )
    p.add_argument(
        "--window",
        type=float,
        default=None,
        metavar="S",
        help="measured window (default 60 s; --quick 5 s)",
    )
    p.add_argument("--no-connect", action="store_true",
                   help="skip the SDK app taking its calls over Inngest Connect")  # fmt: skip
    p.add_argument("--sync", action="store_true",
                   help="also measure the sync handler (SDK thread pool) at 100 runs")  # fmt: skip


def durations(ws: Workspace) -> tuple[float, float]:
    warm = ws.args.warm if ws.args.warm is not None else (2.0 if ws.args.quick else 10.0)
    window = ws.args.window if ws.args.window is not None else (5.0 if ws.args.quick else 60.0)
    return warm, window


async def measure_engine(
    ws: Workspace,
    name: str,
    fn: str,
    concurrency: int,
    standin: bool = False,
    connect: bool = False,
) -> dict[str, Any]:
    warm, window = durations(ws)
    failed = 0

    async def engine() -> dict[str, Any]:
        nonlocal failed
        cl = await ws.cluster(f"{name}-engine-{len(ws.clusters)}", standin=standin, connect=connect)
        try:
            if not standin:
                await c.capture_run(cl, fn, {"n": STEPS, "tag": "warm"}, "done:warm")
            what = "SDK stand-in" if standin else "SDK app" + (" over Connect" if connect else "")
            log(f"{name}: engine + {what}, {concurrency} concurrent runs, {warm:g} s warm-up, "
                f"{window:g} s window")  # fmt: skip
            out = await c.engine_closed_loop(cl, concurrency, STEPS, warm, window, fn)
            failed += await cl.count_runs(f"bench-{fn}", "Failed")
            return out
        finally:
            cl.stop()

    e = await c.quiet_attempts(ws, f"{name} engine", engine)
    e["failed"] = failed
    log(f"  {e['steps_per_s']:,.0f} steps/s (other load {100 * e['other_cpu']:.0f}%)")
    return e


async def measure_bare(ws: Workspace, name: str, fn: str, concurrency: int) -> dict[str, Any]:
    warm, window = durations(ws)

    async def bare() -> dict[str, Any]:
        cl = await ws.cluster(f"{name}-bare-{len(ws.clusters)}")
        try:
            calls = await c.capture_run(cl, fn, {"n": STEPS, "tag": "cap"}, "done:cap")
            log(f"{name}: bare SDK app, {concurrency} concurrent clients, {window:g} s window")
            return await c.bare_closed_loop(cl, calls[:STEPS], concurrency, warm, window)
        finally:
            cl.stop()

    b = await c.quiet_attempts(ws, f"{name} bare", bare)
    log(f"  {b['steps_per_s']:,.0f} calls/s (other load {100 * b['other_cpu']:.0f}%)")
    return b


async def bench(ws: Workspace) -> Result:
    b100 = await measure_bare(ws, "bare-100", "seq", 100)
    e100 = await measure_engine(ws, "async-100", "seq", 100)
    e1000 = await measure_engine(ws, "async-1000", "seq", 1000)
    s100 = await measure_engine(ws, "standin-100", "seq", 100, standin=True)
    s1000 = await measure_engine(ws, "standin-1000", "seq", 1000, standin=True)
    esync = await measure_engine(ws, "sync-100", "seq-sync", 100) if ws.args.sync else None
    conn100 = conn1000 = None
    if not ws.args.no_connect:
        conn100 = await measure_engine(ws, "connect-100", "seq", 100, connect=True)
        conn1000 = await measure_engine(ws, "connect-1000", "seq", 1000, connect=True)

    res = Result("throughput", "steady-state steps/s at 100 and 1,000 concurrent runs")
    f100, f1000, r100 = e100["steps_per_s"], e1000["steps_per_s"], b100["steps_per_s"]
    c100, c1000 = s100["steps_per_s"], s1000["steps_per_s"]
    res.rows += [
        Row("SDK app, 100 concurrent runs", f100, "steps/s", r100, "calls/s", f100 / r100,
            ">= 1,000 steps/s", f100 >= TARGET),
        Row("SDK app, 1,000 concurrent runs", f1000, "steps/s", f100, "steps/s", f1000 / f100,
            ">= 1,000 steps/s", f1000 >= TARGET),
        Row("engine-bound ceiling (stand-in SDK), 100 runs", c100, "steps/s", f100, "steps/s",
            c100 / f100),
        Row("engine-bound ceiling (stand-in SDK), 1,000 runs", c1000, "steps/s", c100,
            "steps/s", c1000 / c100),
        Row("  engine CPU per step, SDK app at 100 runs", e100["engine_cpu_ms_per_step"], "ms"),
        Row("  engine CPU per step, stand-in at 100 runs", s100["engine_cpu_ms_per_step"], "ms"),
        Row("  SDK app CPU per step at 100 runs", e100["app_cpu_ms_per_step"], "ms",
            b100["app_cpu_ms_per_step"], "ms", e100["app_cpu_ms_per_step"]
            / b100["app_cpu_ms_per_step"]),
        Row("  stand-in CPU per step at 100 runs", s100["app_cpu_ms_per_step"], "ms"),
    ]  # fmt: skip
    if esync is not None:
        res.rows.append(Row("sync handler, 100 concurrent runs", esync["steps_per_s"], "steps/s",
                            f100, "steps/s", esync["steps_per_s"] / f100))  # fmt: skip
    if conn100 is not None and conn1000 is not None:
        k100, k1000 = conn100["steps_per_s"], conn1000["steps_per_s"]
        res.rows += [
            Row("SDK app over Connect, 100 concurrent runs", k100, "steps/s", f100, "steps/s",
                k100 / f100, ">= 1,000 steps/s", k100 >= TARGET),
            Row("SDK app over Connect, 1,000 concurrent runs", k1000, "steps/s", f1000,
                "steps/s", k1000 / f1000, ">= 1,000 steps/s", k1000 >= TARGET),
            Row("  SDK app CPU per step over Connect, 100 runs", conn100["app_cpu_ms_per_step"],
                "ms", e100["app_cpu_ms_per_step"], "ms", conn100["app_cpu_ms_per_step"]
                / e100["app_cpu_ms_per_step"]),
            Row("  engine CPU per step over Connect, 100 runs",
                conn100["engine_cpu_ms_per_step"], "ms", e100["engine_cpu_ms_per_step"], "ms",
                conn100["engine_cpu_ms_per_step"] / e100["engine_cpu_ms_per_step"]),
        ]  # fmt: skip
    measured = [("SDK app@100", e100), ("SDK app@1000", e1000), ("stand-in@100", s100),
                ("stand-in@1000", s1000)] + ([("sync@100", esync)] if esync else []) + (
                [("Connect@100", conn100), ("Connect@1000", conn1000)]
                if conn100 and conn1000 else [])  # fmt: skip
    for label, r in measured:
        per_call = (  # the app's HTTP timings; none exist over Connect
            f"per call, median {r['in_app_ms']:.1f} ms inside the app (queueing included), "
            f"median engine turnaround {r['turnaround_ms']:.1f} ms."
            if r["in_app_ms"] == r["in_app_ms"]  # not NaN
            else "no per-call timings (the app's HTTP middleware sees no calls over Connect)."
        )
        res.notes.append(
            f"{label}: other load {100 * r['other_cpu']:.0f}% ({r['attempts']} attempt(s)); "
            f"engine busy {100 * r['engine_cpu']:.0f}% of a core "
            f"({r['engine_cpu_ms_per_step']:.3f} ms CPU per step), app busy "
            f"{100 * r['app_cpu']:.0f}% ({r['app_cpu_ms_per_step']:.3f} ms per step); "
            f"{r['calls_per_s']:,.0f} SDK calls/s, {r['commits_per_s']:,.0f} commits/s "
            f"({r['jobs_per_commit']:.1f} transactions per commit); {r['runs_done']:,} runs "
            f"finished and were replaced, {r['failed']} failed; {per_call}"
        )
    res.notes.append(
        f"bare@100: other load {100 * b100['other_cpu']:.0f}%; SDK app busy "
        f"{100 * b100['app_cpu']:.0f}% of a core ({b100['app_cpu_ms_per_step']:.3f} ms CPU per "
        f"call), median {b100['in_app_ms']:.1f} ms inside the app per call."
    )
    warm, window = durations(ws)
    res.notes += [
        f"steady state: {warm:g} s warm-up, then a {window:g} s window; each run has {STEPS} "
        f"steps plus one final call that returns its result ({STEPS + 1} SDK calls per {STEPS} "
        "steps; the bare baseline makes one call per step).",
        "engine-bound ceiling = the same closed loop with bench/_standin.py as the SDK: the "
        "engine's core is then the limit; ceiling / SDK-app figure says how far the engine is "
        "from being the bottleneck.",
        f"SDK app: FastAPI under uvicorn (http={ws.clusters[0].runtime.get('http')}, "
        f"loop={ws.clusters[0].runtime.get('loop')}).",
    ]
    res.extra = {"async100": e100, "async1000": e1000, "standin100": s100,
                 "standin1000": s1000, "bare100": b100, "sync100": esync,
                 "connect100": conn100, "connect1000": conn1000}  # fmt: skip

    if ws.args.profile:
        cl = await ws.cluster("profile")
        try:
            assert cl.engine is not None
            log("profiling the engine (py-spy) at 100 concurrent runs")
            async with c.Profiler(ws, cl.engine.pid, "throughput") as prof:
                await c.engine_closed_loop(cl, 100, STEPS, 1.0, 8.0)
            res.profile = prof.summary()
        finally:
            cl.stop()
    return res


if __name__ == "__main__":
    sys.exit(c.main("throughput", __doc__.splitlines()[0], bench, configure))
