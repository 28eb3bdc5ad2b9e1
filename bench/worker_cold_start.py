"""Cold start of an isolated worker: asked for → ready to take a job, vs an unisolated one.

    python bench/worker_cold_start.py [--iterations 30] [--json]

Both are measured in the same run, alternately, from the sidecar's side: ``WorkerProcess``
created → its ``ready`` message read. The unisolated baseline is what workers were before
isolation (``python -I`` started fresh, imports the worker code, says ready). The isolated
worker is forked by the sandbox's zygote into its own user, PID, network, mount, IPC and UTS
namespaces, with a private tmpfs, capabilities dropped and the seccomp filter loaded. The
zygote's own start (bubblewrap + imports, once per sidecar) is reported separately.

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
#: Pause between starts, so each measures a start on a settled host, not a burst.
PAUSE_S = 0.2


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
    plain = PlainLauncher(IsolationStatus(isolated=False, detail="benchmark baseline"))
    samples: dict[str, list[float]] = {"isolated": [], "unisolated": []}
    try:
        cold_start_ms(isolated)  # the first fork touches pages the next ones share
        for i in range(args.iterations):
            for name, spawner in (("isolated", isolated), ("unisolated", plain)):
                samples[name].append(cold_start_ms(spawner))
                time.sleep(PAUSE_S)
            if not args.json:
                print(f"  {i + 1}/{args.iterations}", end="\r", file=sys.stderr, flush=True)
    finally:
        isolated.close()
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
    print(f"ratio isolated / unisolated (p50): {ratio:.2f}x")
    print(f"zygote start (once per sidecar): {zygote_ms:.0f} ms")
    print(f"target isolated p50 <= {TARGET_P50_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
