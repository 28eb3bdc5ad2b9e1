"""Memory per sleeping run: engine RSS with 10,000 runs asleep, minus RSS with none, per run.

Method
- Warm-up, so that one-time allocations and whatever a burst of that size leaves behind
  (connection pool to the SDK app, buffers, allocator arenas) are not charged to sleeping runs:
  one burst of `once` runs (one step, done) and one burst of `sleeper` runs with a 1 s sleep
  (step, sleep, wake, done), both of the same size as the measured bursts.
- Baseline: engine VmRSS (/proc/<pid>/status) once it is idle: median of 5 readings.
- Then N runs of `sleeper` (one step, then `step.sleep` for one hour) are started in bursts
  (POST /e with an array of events); after each burst the driver waits until every run has done
  its step and reported its sleep and the engine is idle (no live run, no call in flight).
- Figure: (RSS with N sleeping runs - baseline RSS) / N. Peak RSS (VmHWM) and RSS after each
  burst are reported too, so a plateau (bounded caches) can be told from linear growth.
- Target (from the issue): <= 1 KB (1,024 B) of engine RSS per sleeping run at N = 10,000.
"""

from __future__ import annotations

import asyncio
import statistics
import sys

import _common as c
from _common import Cluster, Result, Row, Workspace, log


async def rss(cl: Cluster, readings: int = 5) -> dict[str, float]:
    assert cl.engine is not None
    values, hwm = [], 0
    for _ in range(readings):
        info = c.rss_kib(cl.engine.pid)
        values.append(info["VmRSS"])
        hwm = max(hwm, info["VmHWM"])
        await asyncio.sleep(0.2)
    return {"rss_kib": statistics.median(values), "hwm_kib": hwm}


async def bench(ws: Workspace) -> Result:
    total, burst = (4_000, 1_000) if ws.args.quick else (10_000, 1_000)
    cl = await ws.cluster()
    fresh = await rss(cl, readings=3)

    log(f"warm-up: a burst of {burst} one-step runs, then {burst} runs that sleep 1 s")
    async with cl.app_wait(counter="once-done", n=burst, wait_s=120) as wait:
        await cl.send([{"name": "bench/once", "data": {}} for _ in range(burst)])
        await wait()
    async with cl.app_wait(counter="sleeper-done", n=burst, wait_s=120) as wait:
        await cl.send([{"name": "bench/sleeper", "data": {"sleep_s": 1}} for _ in range(burst)])
        await wait()
    await cl.quiesce()
    await asyncio.sleep(1.0)
    base = await rss(cl)
    log(f"baseline engine RSS {base['rss_kib'] / 1024:.1f} MiB; starting {total} sleeping runs")

    await cl.app_reset()
    series: list[tuple[int, float]] = []
    done = 0
    while done < total:
        n = min(burst, total - done)
        async with cl.app_wait(counter="sleeper-step", n=done + n, wait_s=300) as wait:
            await cl.send([{"name": "bench/sleeper", "data": {"sleep_s": 3600}} for _ in range(n)])
            await wait()
        await cl.quiesce(wait_s=300)  # every run has reported its sleep; nothing live
        done += n
        now = c.rss_kib(cl.engine.pid)["VmRSS"]  # type: ignore[union-attr]
        series.append((done, now))
        log(f"  {done} sleeping runs: engine RSS {now / 1024:.1f} MiB")
    await asyncio.sleep(2.0)
    stats = await cl.stats()
    after = await rss(cl)
    per_run = (after["rss_kib"] - base["rss_kib"]) * 1024 / total

    db_bytes = sum(p.stat().st_size for p in cl.dir.glob("engine.db*"))
    sleeping = await cl.count_runs("bench-sleeper", "Running")

    res = Result("sleeping_memory", f"engine RSS per sleeping run ({total:,} runs asleep for 1 h)")
    res.rows.append(
        Row(f"RSS per sleeping run (N = {total:,})", per_run, "B", base["rss_kib"] / 1024, "MiB",
            per_run / 1024, "<= 1,024 B", per_run <= 1024)
    )  # fmt: skip
    res.rows.append(Row("engine RSS with N runs asleep", after["rss_kib"] / 1024, "MiB"))
    res.rows.append(Row("engine peak RSS (VmHWM)", after["hwm_kib"] / 1024, "MiB"))
    res.rows.append(
        Row(f"RSS growth over the warm-up bursts ({burst} runs live at once)",
            (base["rss_kib"] - fresh["rss_kib"]) / 1024, "MiB", fresh["rss_kib"] / 1024, "MiB")
    )  # fmt: skip
    res.rows.append(Row("SQLite files (db + wal) per sleeping run", db_bytes / total, "B"))
    res.notes += [
        "baseline = engine RSS after the warm-up with no run asleep (the 'baseline' column); "
        "ratio = bytes per run / 1,024.",
        "the warm-up growth is what a burst of that many live runs leaves behind (connections "
        "to the SDK app, buffers, allocator high-water marks); it depends on peak concurrency, "
        "not on how many runs sleep, and is kept out of the per-run figure on purpose.",
        f"runs started in bursts of {burst} (one POST /e each), the next burst only once the "
        "previous one was asleep and the engine idle.",
        "RSS after each burst: "
        + ", ".join(f"{n:,}: {kib / 1024:.1f} MiB" for n, kib in series)
        + ".",
        f"runs reported Running (asleep) by the engine: {sleeping:,} of {total:,}; engine "
        f"live_runs {stats['live_runs']}, calls in flight {stats['calls_in_flight']}, "
        f"queue items claimed in memory {stats['queue_claimed']}.",
    ]
    if len(series) >= 2:
        first_n, first_kib = series[0]
        last_n, last_kib = series[-1]
        marginal = (last_kib - first_kib) * 1024 / (last_n - first_n)
        res.rows.append(
            Row(f"marginal RSS per run (bursts 2..{len(series)})", marginal, "B",
                target="(info: slope)")
        )  # fmt: skip
    if sleeping != total:
        res.notes.append("WARNING: not every run is asleep; the figure is not trustworthy.")
    return res


if __name__ == "__main__":
    sys.exit(c.main("sleeping_memory", __doc__.splitlines()[0], bench))
