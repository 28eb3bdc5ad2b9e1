"""Engine work per step must not grow with the step index (early vs late steps of long runs).

Method
- Runs of `index`: N (default 300) trivial sequential steps, async handler, one run at a time.
- Figure 1, engine CPU per step: at four step indices (early window start/end, late window
  start/end) the step body inside the SDK app reads the engine process's CPU time from
  /proc/<engine pid>/task/*/schedstat (ns, all threads: event loop, SQLite writer, readers).
  (cpu at end - cpu at start) / steps in the window = engine CPU per step. This is the engine's
  own work, independent of scheduling delays and of the SDK.
- Figure 2, engine turnaround: the SDK app's ASGI middleware records, per call, when it was
  entered and when the last answer byte went to uvicorn. turnaround(k) = enter(call k+1) -
  answered(call k): the engine's share of the wall time per step (plus loopback and uvicorn's
  parsing). wall(k) = enter(k+1) - enter(k); SDK(k) = answered(k) - enter(k).
- Early = steps 10..59, late = the last 50 steps. Ratio late/early should be ~1. The SDK's own
  time per call grows with the index (it replays every memo on every call); that is the SDK's
  cost, reported separately.
- Target (from the issue): flat; this script calls it flat when late/early <= 1.25.
"""

from __future__ import annotations

import itertools
import sys

import _common as c
from _common import Result, Row, Workspace, log

FLAT = 1.25


async def bench(ws: Workspace) -> Result:
    steps = 300
    runs = 2 if ws.args.quick else 6
    early = (10, 60)
    late = (steps - 50, steps)
    probes = [early[0], early[1], late[0], late[1] - 1]
    cl = await ws.cluster()
    assert cl.engine is not None

    cpu_early, cpu_late, app_early, app_late = [], [], [], []
    gap_e, gap_l, sdk_e, sdk_l, wall_e, wall_l = [], [], [], [], [], []

    async def one_run(tag: str) -> None:
        await cl.app_reset(timings=True)
        data = {"n": steps, "tag": tag, "engine_pid": cl.engine.pid, "probes": probes}  # type: ignore[union-attr]
        await cl.trigger_and_wait("index", data, f"done:{tag}", wait_s=300)
        await cl.quiesce()
        marks = await cl.app_dump("marks")
        cpu = {i: marks[f"cpu:{tag}:{i}"] for i in probes}
        n_e, n_l = probes[1] - probes[0], probes[3] - probes[2]
        cpu_early.append((cpu[probes[1]][0] - cpu[probes[0]][0]) / n_e / 1e6)
        cpu_late.append((cpu[probes[3]][0] - cpu[probes[2]][0]) / n_l / 1e6)
        app_early.append((cpu[probes[1]][1] - cpu[probes[0]][1]) / n_e / 1e6)
        app_late.append((cpu[probes[3]][1] - cpu[probes[2]][1]) / n_l / 1e6)
        calls = sorted(await cl.app_dump("timings"), key=lambda x: x[1])
        if len(calls) != steps + 1:
            raise RuntimeError(f"{tag}: {len(calls)} SDK calls, expected {steps + 1}")
        for k, (a, b) in enumerate(itertools.pairwise(calls)):
            gap, sdk, wall = (b[1] - a[2]) / 1e6, (a[2] - a[1]) / 1e6, (b[1] - a[1]) / 1e6
            if early[0] <= k < early[1]:
                gap_e.append(gap), sdk_e.append(sdk), wall_e.append(wall)
            elif late[0] <= k < late[1]:
                gap_l.append(gap), sdk_l.append(sdk), wall_l.append(wall)

    log("warm-up: one 300-step run")
    await one_run("warm")
    for lst in (cpu_early, cpu_late, app_early, app_late, gap_e, gap_l, sdk_e, sdk_l,
                wall_e, wall_l):  # fmt: skip
        lst.clear()
    for r in range(runs):
        log(f"run {r + 1}/{runs}: {steps} steps")
        await one_run(f"r{r}")

    med = c.median
    res = Result("step_index", f"engine work per step, early vs late steps of {steps}-step runs")
    ce, cl_ = med(cpu_early), med(cpu_late)
    res.rows.append(
        Row(f"engine CPU per step, steps {late[0]}-{late[1] - 1} vs {early[0]}-{early[1] - 1}",
            cl_, "ms", ce, "ms", cl_ / ce, f"<= {FLAT}x (flat)", cl_ / ce <= FLAT)
    )  # fmt: skip
    ge, gl = med(gap_e), med(gap_l)
    res.rows.append(
        Row("engine turnaround per step (median), late vs early", gl, "ms", ge, "ms", gl / ge,
            f"<= {FLAT}x (flat)", gl / ge <= FLAT)
    )  # fmt: skip
    se, sl = med(sdk_e), med(sdk_l)
    res.rows.append(Row("SDK time per call (median), late vs early", sl, "ms", se, "ms", sl / se))
    ae, al = med(app_early), med(app_late)
    res.rows.append(Row("SDK app CPU per step, late vs early", al, "ms", ae, "ms", al / ae))
    we, wl = med(wall_e), med(wall_l)
    res.rows.append(Row("wall time per step (median), late vs early", wl, "ms", we, "ms", wl / we))
    res.notes += [
        f"{runs} runs of {steps} steps; early = steps {early[0]}-{early[1] - 1}, late = steps "
        f"{late[0]}-{late[1] - 1}; for these rows 'baseline' is the early figure and 'figure' "
        "the late one. CPU figures are medians over runs of per-window means.",
        "engine CPU per step comes from /proc/<engine>/task/*/schedstat read inside the step "
        "bodies (all engine threads); turnaround = SDK answered call k -> SDK entered call k+1.",
        "the SDK app replays every earlier memo on each call, so its time grows with the index; "
        "that is the SDK's cost and expected. The engine's request body grows too (it must carry "
        "every memo), but it is assembled from pre-serialised fragments.",
        f"per-run engine CPU/step early: {', '.join(f'{x:.3f}' for x in cpu_early)} ms; late: "
        f"{', '.join(f'{x:.3f}' for x in cpu_late)} ms.",
    ]

    if ws.args.profile:
        log("profiling the engine (py-spy) over two more runs")
        async with c.Profiler(ws, cl.engine.pid, "step_index") as prof:
            for r in range(2):
                await one_run(f"p{r}")
        res.profile = prof.summary()
    return res


if __name__ == "__main__":
    sys.exit(c.main("step_index", __doc__.splitlines()[0], bench))
