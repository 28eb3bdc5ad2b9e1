"""Step replay cost: a sandboxed skill vs the same function as a plain SDK function, same engine.

    python bench/skill_steps.py [--steps 10,100,999] [--rounds 2] [--json]

Both functions run N trivial sequential steps (``ctx.step.run("s", stamp)`` in a ``for``
loop); every step stamps the wall clock and the run returns the stamps. The plain function is
a sync ``inngest`` function served by FastAPI under uvicorn in its own process; the skill is
the same loop written as a skill file, validated and served by the sidecar (its own process),
its handler run in a sandboxed worker. Both talk to one embedded engine (its own process).
Runs alternate skill / plain, so both see the same machine load.

Figures (per N, medians over the rounds):
- total: engine ``started_at`` → ``ended_at`` of the run; ratio skill / plain;
- per-step cost late vs early, within one run: median interval between consecutive step stamps
  over the last 10% of the steps divided by the same over the first 10% (from step 1 on).

The engine caps a run at 1000 steps and a skill run at 999 (``run_limits.max_steps``), so
"1,000 steps" is 999 steps for both functions. A skill run makes one SDK call per step, as the
plain function does (its version pin is kept in the platform store, not in a step).

Targets (issue 10): ratio ≤ 2x at 10 steps; total at 1,000 steps ≤ 5x the plain function;
late / early per-step cost of the skill ≤ 1.25x.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from hot_register import engine, free_port  # noqa: E402

from sidecar.files import write_atomically  # noqa: E402

SKILL_ID = "bench-steps"
PLAIN_APP = textwrap.dedent(
    """
    import sys, time
    import fastapi, inngest, inngest.fast_api, uvicorn

    port, engine = int(sys.argv[1]), sys.argv[2]
    client = inngest.Inngest(app_id="bench-plain", is_production=False, api_base_url=engine,
                             event_api_base_url=engine)

    @client.create_function(fn_id="plain-steps", trigger=inngest.TriggerEvent(event="bench/plain"),
                            retries=0)
    def plain_steps(ctx: inngest.ContextSync) -> dict:
        def stamp() -> float:
            return time.time()

        stamps = []
        for _ in range(int(ctx.event.data["n"])):
            stamps.append(ctx.step.run("s", stamp))
        return {"ts": stamps}

    api = fastapi.FastAPI()
    inngest.fast_api.serve(api, client, [plain_steps], serve_path="/api/inngest")
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    """
)
SKILL = textwrap.dedent(
    f'''
    MANIFEST = {{
        "id": "{SKILL_ID}",
        "description": "Step replay benchmark.",
        "author": "human",
        "triggers": [{{"event": "bench/skill", "example": {{"n": 3}}}}],
    }}

    import datetime


    def stamp():
        return datetime.datetime.now().timestamp()


    @skill.function(fn_id="{SKILL_ID}", trigger=skill.event("bench/skill"), retries=0)
    def steps(ctx):
        stamps = []
        for i in range(min(int(ctx.event.data["n"]), 999)):
            stamps.append(ctx.step.run("s", stamp))
        return {{"ts": stamps}}
    '''
).lstrip()


def parse_ts(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run_once(http: httpx.Client, event: str, n: int) -> dict[str, float]:
    event_id = http.post("/e/bench", json={"name": event, "data": {"n": n}}).json()["ids"][0]
    deadline = time.monotonic() + 60 + n * 2
    while True:
        runs = http.get(f"/v1/events/{event_id}/runs").json()["data"]
        if runs and runs[0]["status"] in ("Completed", "Failed", "Cancelled"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{event} n={n}: no result in time")
        time.sleep(0.02)
    run = runs[0]
    stamps = (run.get("output") or {}).get("ts") if run["status"] == "Completed" else None
    if not isinstance(stamps, list) or len(stamps) != n:
        raise RuntimeError(f"{event} n={n}: unexpected run {json.dumps(run)[:500]}")
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    tenth = max(1, len(gaps) // 10)
    return {
        "total_ms": (parse_ts(run["ended_at"]) - parse_ts(run["run_started_at"])) * 1000,
        "early_ms": statistics.median(gaps[:tenth]) * 1000 if gaps else 0.0,
        "late_ms": statistics.median(gaps[-tenth:]) * 1000 if gaps else 0.0,
    }


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{url} did not come up")
        time.sleep(0.05)


def measure(sizes: list[int], rounds: int) -> dict[int, dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="skill-steps-") as tmp, engine(Path(tmp)) as url:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
        env["INNGEST_DEV"] = url
        with (
            plain_app(url, env),
            sidecar_process(url, env, work),
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            print("warm-up", file=sys.stderr)
            run_once(http, "bench/skill", 5)
            run_once(http, "bench/plain", 5)
            for n in sizes:
                samples: dict[str, list[dict[str, float]]] = {"skill": [], "plain": []}
                for r in range(rounds):
                    for kind in ("skill", "plain"):
                        sample = run_once(http, f"bench/{kind}", n)
                        samples[kind].append(sample)
                        print(f"n={n} round {r} {kind}: {sample}", file=sys.stderr)
                results[n] = {
                    kind: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
                    for kind, runs in samples.items()
                }
    return results


@contextlib.contextmanager
def plain_app(url: str, env: dict[str, str]) -> Iterator[None]:
    port = free_port()
    plain = subprocess.Popen([sys.executable, "-c", PLAIN_APP, str(port), url], env=env)
    try:
        serve_url = f"http://127.0.0.1:{port}/api/inngest"
        wait_up(serve_url, plain)
        httpx.post(f"{url}/v1/apps/sync", json={"url": serve_url}, timeout=30).raise_for_status()
        yield
    finally:
        plain.terminate()
        plain.wait(timeout=10)


@contextlib.contextmanager
def sidecar_process(url: str, env: dict[str, str], work: Path) -> Iterator[None]:
    """The sidecar in its own process, as `loopwright up` starts it (in the driver's process it
    would share a GIL with the driver's polling, which the plain app does not)."""
    port = free_port()
    skills = work / "skills"
    skills.mkdir()
    sidecar = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "--engine", url, "--port", str(port),
         "--skills-dir", str(skills), "--db", str(work / "sidecar.db"),
         "--app-id", "bench-skill-steps", "--no-core", "--log-level", "warning"],
        env={**env, "LOOPWRIGHT_CAPABILITIES_DB": str(work / "capabilities.db")},
        stdout=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        api = f"http://127.0.0.1:{port}"
        wait_up(f"{api}/v1/status", sidecar)
        write_atomically(skills / "bench_steps.py", SKILL)
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"{api}/v1/skills/{SKILL_ID}", timeout=5).json().get("active_version") is None
        ):
            if time.monotonic() > deadline or sidecar.poll() is not None:
                raise RuntimeError(f"the benchmark skill never went live (sidecar on {api})")
            time.sleep(0.05)
        yield
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,100,999", help="comma-separated step counts")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each function per size")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.steps.split(",")]
    results = measure(sizes, args.rounds)
    rows = []
    for n, r in results.items():
        skill, plain = r["skill"], r["plain"]
        ratio = skill["total_ms"] / plain["total_ms"]
        drift = skill["late_ms"] / skill["early_ms"] if skill["early_ms"] else float("nan")
        plain_drift = plain["late_ms"] / plain["early_ms"] if plain["early_ms"] else float("nan")
        rows.append({"steps": n, "skill": skill, "plain": plain, "ratio": ratio,
                     "skill_late_vs_early": drift, "plain_late_vs_early": plain_drift})  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'steps':>6} {'skill ms':>10} {'plain ms':>10} {'ratio':>7} "
          f"{'skill early/late ms':>20} {'late/early':>10} {'plain late/early':>16}")  # fmt: skip
    for row in rows:
        s = row["skill"]
        print(
            f"{row['steps']:>6} {s['total_ms']:>10.1f} {row['plain']['total_ms']:>10.1f} "
            f"{row['ratio']:>6.2f}x {s['early_ms']:>9.2f}/{s['late_ms']:<9.2f} "
            f"{row['skill_late_vs_early']:>9.2f}x {row['plain_late_vs_early']:>15.2f}x"
        )
    first, last = rows[0], rows[-1]
    print(f"targets: ratio at {first['steps']} steps ≤ 2x: {first['ratio']:.2f}x; "
          f"total at {last['steps']} steps ≤ 5x plain: {last['ratio']:.2f}x; "
          f"skill late/early per step ≤ 1.25x: {last['skill_late_vs_early']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
