"""Durable mode: throughput with --durability full (fsync per commit) vs normal, 100 runs.

Method
- Two kinds of engine: `--durability normal` (SQLite WAL, synchronous=NORMAL: survives a crash
  of the process) and `--durability full` (synchronous=FULL: an fsync per commit, survives power
  loss). The engine's single writer thread groups many small transactions into one commit, so
  one fsync is shared by every transaction in the group.
- Each measurement: a fresh engine + SDK app pair, then the same closed loop as throughput.py
  (full runs: repeated, up to 3 times, when other processes took more than 15% of the CPU meanwhile):
  100 runs of `seq` (10 trivial steps, async handler) kept in flight, step bodies counted inside
  the SDK app over a fixed window after a warm-up. Rounds alternate the order (normal first, then
  full first, ...) so that drift in machine load does not favour either mode; the figure per mode
  is the median over rounds.
- The SQLite file lives in the benchmark's temp dir (see the notes for its filesystem: fsync cost
  depends on it; a tmpfs would make the comparison meaningless).
- Target (from the issue): full >= 0.8x the throughput of normal at 100 concurrent runs.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

import _common as c
from _common import Result, Row, Workspace, log

TARGET = 0.8
STEPS = 10


async def bench(ws: Workspace) -> Result:
    quick = ws.args.quick
    rounds = 1 if quick else 3
    warm, window = (0.75, 3.0) if quick else (2.0, 10.0)
    results: dict[str, list[dict[str, Any]]] = {"normal": [], "full": []}
    for r in range(rounds):
        order = ("normal", "full") if r % 2 == 0 else ("full", "normal")
        for mode in order:

            async def one(mode: str = mode, r: int = r) -> dict[str, Any]:
                cl = await ws.cluster(f"{mode}-{r}-{len(ws.clusters)}", durability=mode)
                try:
                    log(f"round {r + 1}/{rounds}, {mode}: 100 concurrent runs, {window:g} s")
                    return await c.engine_closed_loop(cl, 100, STEPS, warm, window)
                finally:
                    cl.stop()

            out = await c.quiet_attempts(ws, f"{mode} round {r + 1}", one)
            results[mode].append(out)
            log(
                f"  {out['steps_per_s']:,.0f} steps/s, {out['commits_per_s']:,.0f} commits/s,"
                f" {out['jobs_per_commit']:.1f} transactions per commit"
                f" (other load {100 * out['other_cpu']:.0f}%)"
            )

    def med(mode: str, key: str) -> float:
        return statistics.median(x[key] for x in results[mode])

    normal, full = med("normal", "steps_per_s"), med("full", "steps_per_s")
    res = Result("durability", "throughput with fsync per commit (full) vs normal, 100 runs")
    res.rows.append(
        Row("full vs normal, 100 concurrent runs", full, "steps/s", normal, "steps/s",
            full / normal, f">= {TARGET}x", full / normal >= TARGET)
    )  # fmt: skip
    for mode in ("normal", "full"):
        res.rows.append(Row(f"{mode}: commits per second", med(mode, "commits_per_s"), "/s"))
        res.rows.append(
            Row(f"{mode}: transactions per commit (group size)", med(mode, "jobs_per_commit"), "")
        )
        res.rows.append(
            Row(f"{mode}: engine CPU per step", med(mode, "engine_cpu_ms_per_step"), "ms")
        )
        res.notes.append(
            f"{mode}: engine busy {100 * med(mode, 'engine_cpu'):.0f}% of its core, SDK app busy "
            f"{100 * med(mode, 'app_cpu'):.0f}% of its core (medians over rounds)."
        )
    res.notes += [
        f"{rounds} round(s), alternating order; each figure is the median over rounds of steps/s "
        f"in a {window:g} s window (after {warm:g} s warm-up); per round: "
        + "; ".join(
            f"normal {n['steps_per_s']:,.0f} / full {f['steps_per_s']:,.0f} (other load "
            f"{100 * n['other_cpu']:.0f}% / {100 * f['other_cpu']:.0f}%)"
            for n, f in zip(results["normal"], results["full"], strict=True)
        )
        + ".",
        f"SQLite files in {ws.dir} on a '{c.fs_type(ws.dir)}' filesystem.",
        "when neither process is near 100% of its core, the loop is latency-bound: each run "
        "waits for its commit (an fsync in full mode) before its next call is sent.",
    ]
    return res


if __name__ == "__main__":
    sys.exit(c.main("durability", __doc__.splitlines()[0], bench))
