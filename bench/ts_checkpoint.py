"""TypeScript SDK (npm inngest 4.x): checkpointing on (its default) vs off, per-step time.

Method
- One engine (`python -m engine`, flat 1 s retry backoff) and two apps of tests/ts_sdk/app served
  by the SDK's Node adapter: one with the SDK's defaults (checkpointing on), one with
  `checkpointing: false`. Both run the same function: 20 trivial sequential `step.run`s.
- Runs go one at a time, alternating between the two apps round by round, so both see the same
  machine load. A run's time is the engine's own `ended_at - run_started_at`; per step = / 20.
- Reported: p50 and mean per step for each mode, SDK calls per run (the engine's POSTs to the
  app), and the ratio checkpointing / no-checkpointing (below 1 means checkpointing is faster).

Usage: python bench/ts_checkpoint.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

import httpx

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conformance._engine import TERMINAL, EngineAPI, running_engine  # noqa: E402
from tests.ts_sdk._node_app import NodeApp  # noqa: E402

STEPS = 20
MODES = ("checkpointing", "no-checkpointing")


def _ms(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def _run_once(api: EngineAPI, node: NodeApp) -> tuple[float, int]:
    """One run; (engine-side run time in ms, SDK calls it took)."""
    before = httpx.get(f"{node.url}/calls", timeout=10).json()["calls"]
    resp = api.post_events({"name": node.event("chain"), "data": {"n": STEPS}})
    [event_id] = resp.json()["ids"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = api.event_runs(event_id)
        if runs and runs[0]["status"] in TERMINAL:
            run: dict[str, Any] = runs[0]
            if run["status"] != "Completed" or run["output"] != sum(range(STEPS)):
                raise RuntimeError(f"run did not complete as expected: {run}")
            after = httpx.get(f"{node.url}/calls", timeout=10).json()["calls"]
            return _ms(run["ended_at"]) - _ms(run["run_started_at"]), after - before
        time.sleep(0.01)
    raise RuntimeError("a run did not finish within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured runs per mode")
    parser.add_argument("--quick", action="store_true", help="5 rounds (a smoke check)")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp, running_engine(pathlib.Path(tmp)) as engine:
        api = EngineAPI(engine.url)
        apps = {
            mode: NodeApp(
                pathlib.Path(tmp), engine.url, f"bench{i}{uuid.uuid4().hex[:4]}", mode == MODES[0]
            )
            for i, mode in enumerate(MODES)
        }
        try:
            for node in apps.values():
                node.start()
                result = api.sync(node.serve_url)
                if not result["ok"]:
                    raise RuntimeError(f"sync failed: {result}")
            for node in apps.values():  # warm-up: JIT, connections, caches
                for _ in range(3):
                    _run_once(api, node)
            per_step: dict[str, list[float]] = {m: [] for m in MODES}
            calls: dict[str, list[int]] = {m: [] for m in MODES}
            for i in range(rounds):
                order = MODES if i % 2 == 0 else MODES[::-1]
                for mode in order:
                    ms, n = _run_once(api, apps[mode])
                    per_step[mode].append(ms / STEPS)
                    calls[mode].append(n)
                print(f"round {i + 1}/{rounds}", file=sys.stderr)
        finally:
            for node in apps.values():
                node.stop()
            api.close()
    print(f"TypeScript SDK inngest 4.24.0, {STEPS}-step runs, {rounds} runs per mode")
    print(f"{'mode':<18} {'p50 ms/step':>12} {'mean ms/step':>13} {'SDK calls/run':>14}")
    for mode in MODES:
        print(
            f"{mode:<18} {statistics.median(per_step[mode]):>12.2f}"
            f" {statistics.fmean(per_step[mode]):>13.2f} {statistics.fmean(calls[mode]):>14.1f}"
        )
    ratio = statistics.median(per_step[MODES[0]]) / statistics.median(per_step[MODES[1]])
    print(f"ratio checkpointing / no-checkpointing (p50 per step): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
