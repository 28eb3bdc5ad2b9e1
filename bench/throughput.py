"""Throughput: steps/s with 100 and 1,000 concurrent runs, vs the SDK app's own ceiling.

Method
- Figure: closed loop. C runs of `seq` (10 trivial sequential steps each) are started in one
  burst (POST /e with an array) and a new run is started for each one that finishes, so C runs
  stay in flight. Every step body stamps CLOCK_MONOTONIC inside the SDK app; throughput = step
  bodies per second inside a fixed window that opens after a warm-up. Async handler for the
  targets; the sync handler (SDK thread pool) as a note.
- Baseline: the SDK app alone. One run's calls are captured byte for byte; C concurrent aiohttp
  clients replay them straight at the SDK endpoint, back to back, measured the same way. That is
  the most the SDK app (one process, one core) serves, so engine/bare is the share of the SDK's
  ceiling the engine reaches.
- Every measurement gets a fresh engine + app pair (nothing left over from the previous one),
  and is repeated (full runs: up to 3 times, the quietest kept) when other processes on the machine took
  more than 15% of the CPU while it ran.
- Targets (from the issue): >= 1,000 steps/s at 100 concurrent runs on 2 cores; no collapse at
  1,000 concurrent runs. The issue gives no number for "collapse"; this script calls it a
  collapse when steps/s at 1,000 runs fall below 0.75x the figure at 100.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import _common as c
from _common import Result, Row, Workspace, log

NO_COLLAPSE = 0.75
STEPS = 10


async def measure(
    ws: Workspace, name: str, fn: str, concurrency: int, skip_bare: bool = False
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Bare SDK app, then engine, each on a fresh engine + app pair; each measurement is
    repeated (up to 3 times) when other processes took more than 15% of the CPU meanwhile."""
    warm, window = (0.75, 2.0) if ws.args.quick else (2.0, 8.0)
    failed = 0

    async def bare() -> dict[str, Any]:
        if skip_bare:
            return {"steps_per_s": math.nan, "app_cpu": math.nan,
                    "app_cpu_ms_per_step": math.nan, "in_app_ms": math.nan}  # fmt: skip
        cl = await ws.cluster(f"{name}-bare-{len(ws.clusters)}")
        try:
            calls = await c.capture_run(cl, fn, {"n": STEPS, "tag": "cap"}, "done:cap")
            log(f"{name}: bare SDK app, {concurrency} concurrent clients, {window:g} s window")
            return await c.bare_closed_loop(cl, calls[:STEPS], concurrency, warm, window)
        finally:
            cl.stop()

    async def engine() -> dict[str, Any]:
        nonlocal failed
        cl = await ws.cluster(f"{name}-engine-{len(ws.clusters)}")
        try:
            await c.capture_run(cl, fn, {"n": STEPS, "tag": "warm"}, "done:warm")
            log(f"{name}: engine, {concurrency} concurrent runs, {window:g} s window")
            out = await c.engine_closed_loop(cl, concurrency, STEPS, warm, window, fn)
            failed += await cl.count_runs(f"bench-{fn}", "Failed")
            return out
        finally:
            cl.stop()

    b = await c.quiet_attempts(ws, f"{name} bare", bare)
    log(f"  {b['steps_per_s']:,.0f} calls/s (other load {100 * b['other_cpu']:.0f}%)")
    e = await c.quiet_attempts(ws, f"{name} engine", engine)
    log(f"  {e['steps_per_s']:,.0f} steps/s (other load {100 * e['other_cpu']:.0f}%)")
    return e, b, failed


async def bench(ws: Workspace) -> Result:
    e100, b100, f1 = await measure(ws, "async-100", "seq", 100)
    # the bare SDK app at 1,000 clients is context only; --quick leaves it out to stay ~30 s
    e1000, b1000, f2 = await measure(ws, "async-1000", "seq", 1000, skip_bare=ws.args.quick)
    esync, bsync, f3 = await measure(ws, "sync-100", "seq-sync", 100)

    res = Result("throughput", "steps/s through the engine at 100 and 1,000 concurrent runs")
    f100, f1000, fsync = e100["steps_per_s"], e1000["steps_per_s"], esync["steps_per_s"]
    r100, r1000, rsync = b100["steps_per_s"], b1000["steps_per_s"], bsync["steps_per_s"]
    res.rows += [
        Row("async, 100 concurrent runs", f100, "steps/s", r100, "calls/s", f100 / r100,
            ">= 1,000 steps/s", f100 >= 1000),
        Row("async, 1,000 concurrent runs", f1000, "steps/s", f100, "steps/s", f1000 / f100,
            f">= {NO_COLLAPSE}x of 100 runs", f1000 / f100 >= NO_COLLAPSE),
        Row("sync handler, 100 concurrent runs", fsync, "steps/s", rsync, "calls/s",
            fsync / rsync),
        Row("  engine-bound ceiling at 100 runs (1 core / engine CPU per step)",
            1000 / e100["engine_cpu_ms_per_step"], "steps/s"),
        Row("  SDK-bound ceiling at 100 runs (1 core / SDK app CPU per step)",
            1000 / e100["app_cpu_ms_per_step"], "steps/s"),
    ]  # fmt: skip
    if not math.isnan(r1000):
        res.rows.insert(2, Row("  same, vs bare SDK app at 1,000 clients", f1000, "steps/s",
                               r1000, "calls/s", f1000 / r1000))  # fmt: skip
    for label, r in (("async@100", e100), ("async@1000", e1000), ("sync@100", esync)):
        res.notes.append(
            f"{label}: other load {100 * r['other_cpu']:.0f}% ({r['attempts']} attempt(s)); "
            f"engine busy {100 * r['engine_cpu']:.0f}% of a core "
            f"({r['engine_cpu_ms_per_step']:.2f} ms CPU per step), SDK app busy "
            f"{100 * r['app_cpu']:.0f}% ({r['app_cpu_ms_per_step']:.2f} ms per step); "
            f"{r['calls_per_s']:,.0f} SDK calls/s, {r['commits_per_s']:,.0f} commits/s "
            f"({r['jobs_per_commit']:.1f} transactions per commit), {r['runs_done']} runs "
            f"finished and were replaced; per call, median {r['in_app_ms']:.1f} ms inside the "
            f"SDK app (queueing included), median engine turnaround {r['turnaround_ms']:.1f} ms."
        )
    for label, r in (("bare@100", b100), ("bare@1000", b1000), ("bare sync@100", bsync)):
        if r["steps_per_s"] != r["steps_per_s"]:  # skipped (NaN)
            continue
        res.notes.append(
            f"{label}: other load {100 * r['other_cpu']:.0f}% ({r['attempts']} attempt(s)); "
            f"SDK app busy {100 * r['app_cpu']:.0f}% of a core "
            f"({r['app_cpu_ms_per_step']:.2f} ms CPU per call), median {r['in_app_ms']:.1f} ms "
            "inside the app per call."
        )
    res.notes += [
        f"steps/s = step bodies run per second; each run has {STEPS} steps plus one final call "
        f"that returns its result, so the engine makes {STEPS + 1} SDK calls per {STEPS} steps "
        "while the bare baseline makes one call per step.",
        "baseline = the SDK app alone at the same concurrency, replaying captured engine calls "
        "back to back; it is bound by the SDK app's single process (one core), as the engine "
        "path is.",
        f"SDK app: FastAPI under uvicorn (http={ws.clusters[0].runtime.get('http')}, "
        f"loop={ws.clusters[0].runtime.get('loop')}); sync handlers run in the SDK's thread pool.",
        f"failed runs: {f1 + f2 + f3}.",
    ]
    res.notes.append(
        "the two ceilings say how many steps/s each process could sustain at 100% of its own "
        "core, at the CPU cost per step measured in the async@100 window; the lower one is the "
        "bottleneck."
    )
    if f100 < 1000 and r100 < 1000:
        res.notes.append(
            "the 1,000 steps/s target is above what the SDK app itself serves on this machine "
            f"({r100:,.0f} calls/s bare, {1000 / r100:.1f}x short), so no engine can reach it "
            "in this setup; the ratio to the bare ceiling is the engine's part."
        )
    res.extra = {"async100": e100, "async1000": e1000, "sync100": esync,
                 "bare100": b100, "bare1000": b1000, "bare_sync100": bsync}  # fmt: skip

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
    sys.exit(c.main("throughput", __doc__.splitlines()[0], bench))
