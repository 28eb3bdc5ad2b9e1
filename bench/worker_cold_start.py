"""Cold start of an isolated worker: asked for → ready to take a job, vs an unisolated one.

    python bench/worker_cold_start.py [--iterations 30] [--json]

All are measured in the same run, in turn, from the sidecar's side: ``WorkerProcess``
created → its ``ready`` message read. The unisolated baseline is what workers were before
isolation (``python -I`` started fresh, imports the worker code, says ready). An isolated
worker comes from the sandbox's zygote in its own user, PID, network, mount, IPC and UTS
namespaces, with a private tmpfs, capabilities dropped and the seccomp filter loaded:

* ``isolated`` (the default, ``isolation.park``): the zygote keeps one worker boxed and
  waiting, and hands it the pipes; the next one is boxed once the zygote is quiet;
* ``isolated, boxed on request`` (``park = False``): three forks and the boxing on the
  critical path — the cost when requests come faster than the zygote re-parks.

The zygote's own start (bubblewrap + imports, once per sidecar) is reported separately.

Target (issue 10): isolated p50 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sidecar.isolation.config import IsolationSettings  # noqa: E402
from sidecar.isolation.launcher import (  # noqa: E402
    IsolatedLauncher,
    IsolationStatus,
    Launcher,
    PlainLauncher,
)
from sidecar.workers import WorkerLimits, WorkerProcess  # noqa: E402

TARGET_P50_MS = 100.0
#: Pause before each start: starts are seconds apart in practice (steady state, not a burst).
PAUSE_S = 0.5


def cold_start_ms(spawner: Launcher) -> float:
    started = time.perf_counter()
    worker = WorkerProcess(WorkerLimits(), spawner)
    worker.wait_ready()
    elapsed = (time.perf_counter() - started) * 1000
    worker.kill()
    return elapsed


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    started = time.perf_counter()
    isolated = IsolatedLauncher(IsolationSettings())
    zygote_ms = (time.perf_counter() - started) * 1000
    on_request = IsolatedLauncher(IsolationSettings(park=False))
    plain = PlainLauncher(IsolationStatus(isolated=False, detail="benchmark baseline"))
    spawners: list[tuple[str, Launcher]] = [
        ("isolated", isolated),
        ("isolated, boxed on request", on_request),
        ("unisolated", plain),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _ in spawners}
    try:
        for _name, spawner in spawners[:2]:
            cold_start_ms(spawner)  # the first fork touches pages the next ones share
        for i in range(args.iterations):
            for name, spawner in spawners:
                time.sleep(PAUSE_S)
                samples[name].append(cold_start_ms(spawner))
            if not args.json:
                print(f"  {i + 1}/{args.iterations}", end="\r", file=sys.stderr, flush=True)
    finally:
        isolated.close()
        on_request.close()
    figures = {name: quantiles(values) for name, values in samples.items()}
    ratio = figures["isolated"]["p50"] / figures["unisolated"]["p50"]
    verdict = "PASS" if figures["isolated"]["p50"] <= TARGET_P50_MS else "FAIL"
    if args.json:
        out = {**figures, "zygote_start_ms": zygote_ms, "ratio_p50": ratio, "target": verdict}
        print(json.dumps(out, indent=2))
        return
    print(f"{'worker cold start (ms)':<28} {'p50':>8} {'p90':>8} {'min':>8} {'max':>8}")
    for name, q in figures.items():
        print(f"{name:<28} {q['p50']:>8.1f} {q['p90']:>8.1f} {q['min']:>8.1f} {q['max']:>8.1f}")
    print(f"ratio isolated / unisolated (p50): {ratio:.3f}x")
    boxed = figures["isolated, boxed on request"]["p50"] / figures["unisolated"]["p50"]
    print(f"ratio isolated boxed on request / unisolated (p50): {boxed:.3f}x")
    print(f"zygote start (once per sidecar): {zygote_ms:.0f} ms")
    print(f"target isolated p50 <= {TARGET_P50_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
