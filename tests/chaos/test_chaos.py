"""Chaos: `kill -9` the engine and the SDK app at random moments during a burst, restart them, and
prove that no
acknowledged event is lost, no step whose result was saved runs again, and every run finishes,
with sleeps, waits, retries, invokes and crons resuming across the kills.

The test, in order:
1. Start the engine (`python -m engine`, flat 1 s retry backoff) and the SDK app process (`_app.py`:
   sequential steps, a parallel group, a sleep, a wait_for_event, a step that fails once, an
   invoke of a child, a minutely cron), and sync the app.
2. Burst: send CHAOS_EVENTS events (scenario drawn per event) paced over the kill window, one
   POST each with its own id seed, re-sent on failure (`_traffic.py` explains that choice). The
   observer releases waiting runs and samples saved step results meanwhile.
3. Kill: CHAOS_KILLS times, after a random uptime of 0.2-1.5 s, SIGKILL the engine, read a copy of
   its database (`_kills.py`), and restart it on the same port and file. When a minute boundary is
   near, the kill is placed so that the engine is dead when the cron tick falls due. CHAOS_APP_KILLS
   times (interleaved in a seeded order) SIGKILL the SDK app instead, once its successor listens
   on the same port (`_sdk_process.py`).
4. Drain: wait until no run is Running (deadline). If no cron tick fell due while the engine was
   dead yet, kill it across the next minute boundary (this can add up to a minute).
5. Read everything back through the REST API and run the checks of `_verify.py` (its docstring
   explains how re-executions are told apart from kill-caused repeats, and the bound on them).

The seed (CHAOS_SEED) fixes the scenario mix, kill timings and which events are abandoned after a
failed POST; the interleaving with real processes still varies from run to run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
import random
import time
from typing import Any

import httpx
import pytest

from ._app import SCENARIOS
from ._engine import ChaosEngine
from ._kills import Kill, kill_and_restart, next_minute
from ._sdk_process import SdkProcess
from ._traffic import Observer, Sender, Sent, make_event
from ._verify import Evidence, Report, verify

WEIGHTS = {"burst": 0.4, "sleep": 0.15, "wait": 0.15, "flaky": 0.15, "invoke": 0.15}
ABANDON_SHARE = 0.2  # events given up after their first failed POST
ECHO_SHARE = 0.1  # acknowledged events POSTed a second time with the same seed
UPTIME_S = (0.2, 1.5)
DRAIN_TIMEOUT_S = 60.0
FUNCTIONS = ("seq", "par", "sleepy", "waiter", "flaky", "parent", "child", "tick")


def _env_list(name: str, default: str) -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


# One session per (durability mode, seed). CI runs the default: both commit modes, one seed,
# 8 kills each. The soak in README.md runs more than 100 kills over several seeds.
MODES = _env_list("CHAOS_MODES", "normal,full")
SEEDS = [int(x) for x in _env_list("CHAOS_SEEDS", os.environ.get("CHAOS_SEED", "20240611"))]


@dataclasses.dataclass(frozen=True)
class Settings:
    seed: int
    kills: int
    events: int
    durability: str = "normal"
    app_kills: int = 3  # kill -9s of the SDK app process, interleaved with the engine's

    @classmethod
    def from_env(cls, seed: int, durability: str) -> Settings:
        return cls(
            seed=seed,
            kills=int(os.environ.get("CHAOS_KILLS", "8")),
            events=int(os.environ.get("CHAOS_EVENTS", "130")),
            durability=durability,
            app_kills=int(os.environ.get("CHAOS_APP_KILLS", "3")),
        )

    def rng(self, purpose: str) -> random.Random:
        """One generator per purpose, so threads drawing numbers cannot shift each other's."""
        return random.Random(f"{self.seed}:{purpose}")


@pytest.mark.chaos
@pytest.mark.timeout(600)  # per session; a loaded 2-core machine makes kills slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("durability", MODES)
def test_kill_9_during_a_burst_loses_and_repeats_nothing(
    tmp_path: pathlib.Path, durability: str, seed: int
) -> None:
    settings = Settings.from_env(seed, durability)
    chaos = Chaos(settings, ChaosEngine(tmp_path, durability=durability), tmp_path)
    try:
        evidence = chaos.execute()
    finally:
        chaos.engine.stop()
        chaos.sdk.stop()
    report = verify(evidence)
    report.figures["runtime_s"] = round(time.time() - chaos.began, 1)
    report.figures["phases_s"] = {k: round(v, 1) for k, v in chaos.phases.items()}
    print("\n" + summary(settings, report, chaos.engine))
    assert report.ok and not chaos.stuck, failure_message(settings, report, chaos)


class Chaos:
    """One chaos session: engine, SDK app, burst, kills, drain, cron, and the evidence."""

    def __init__(self, settings: Settings, engine: ChaosEngine, workdir: pathlib.Path) -> None:
        self.settings, self.engine = settings, engine
        self.sdk = SdkProcess(workdir, engine.url)
        self.kills: list[Kill] = []
        self.phases: dict[str, float] = {}
        self.stuck: list[str] = []
        self.began = time.time()

    def phase(self, name: str) -> None:
        self.phases[name] = time.time() - self.began - sum(self.phases.values())

    def execute(self) -> Evidence:
        first = self.engine.start()
        sdk = self.sdk
        sdk.start()
        with httpx.Client(base_url=self.engine.url, timeout=10.0) as api:
            resp = api.post("/v1/apps/sync", json={"url": sdk.serve_url})
            assert resp.status_code == 200 and resp.json()["data"]["ok"], resp.text
            synced_at = time.time()
            restart_s = first.ready - first.spawned
            kills = self.settings.kills + self.settings.app_kills
            window = kills * (sum(UPTIME_S) / 2 + restart_s)
            events = plan_events(self.settings.rng("events"), self.settings.events, window)
            observer = Observer(
                self.engine.url, {e.internal_id: e for e in events}, self.settings.rng("observer")
            )
            observer.start()
            try:
                self.phase("setup")
                self.burst(sdk, events, restart_s)
                self.stuck = drain(api)
                self.phase("drain")
                if not self.stuck and not any(k.tick_downtime for k in self.kills):
                    self.kill_across_next_tick(api, sdk)
                finished_at = time.time()
                self.phase("cron")
            finally:
                observer.stop()
            evidence = collect(api, self, events, observer, sdk, synced_at, finished_at)
            self.phase("collect")
        return evidence

    def burst(self, sdk: SdkProcess, events: list[Sent], restart_s: float) -> None:
        """Send the events while killing the engine `settings.kills` times and the SDK app
        `settings.app_kills` times, in an order the seed draws."""
        sender = Sender(self.engine.url, events)
        sender.start()
        rng = self.settings.rng("kills")
        targets = ["engine"] * self.settings.kills + ["app"] * self.settings.app_kills
        self.settings.rng("targets").shuffle(targets)
        for target in targets:
            kill_at = time.time() + rng.uniform(*UPTIME_S)
            if target == "app":
                time.sleep(max(0.0, kill_at - time.time()))
                sdk.restart()
                continue
            dead_until = 0.0
            boundary = next_minute(time.time())
            if time.time() + 0.1 < boundary - 0.3 <= kill_at + restart_s + 0.5:
                # a cron tick falls due soon: make sure the engine is dead when it does
                kill_at, dead_until = boundary - 0.3, boundary + 0.3
            time.sleep(max(0.0, kill_at - time.time()))
            kill_and_restart(self.engine, self.kills, sdk.settle, dead_until=dead_until)
        self.phase("kills")
        assert sender.join(timeout=120), "the sender did not finish"
        self.phase("send")

    def kill_across_next_tick(self, api: httpx.Client, sdk: SdkProcess) -> None:
        """No tick fell due during a kill yet: be dead at the next one, then see it run."""
        boundary = next_minute(time.time() + 1)
        time.sleep(max(0.0, boundary - 0.3 - time.time()))
        kill_and_restart(self.engine, self.kills, sdk.settle, dead_until=boundary + 0.3)
        wait_for_tick(api, boundary)
        self.stuck = drain(api)


def plan_events(rng: random.Random, count: int, window: float) -> list[Sent]:
    names, weights = zip(*WEIGHTS.items(), strict=True)
    start = time.time() + 0.2
    events = []
    for i in range(count):
        scenario = rng.choices(names, weights)[0]
        assert scenario in SCENARIOS
        sent = make_event(rng, f"chaos/{scenario}", {"key": f"e{i}", "i": i},
                          abandon=rng.random() < ABANDON_SHARE,
                          echo=rng.random() < ECHO_SHARE)  # fmt: skip
        sent.due = start + window * i / count
        events.append(sent)
    return events


def drain(api: httpx.Client, timeout: float = DRAIN_TIMEOUT_S) -> list[str]:
    """Wait until no run is Running (two looks in a row, to step over a run being created).

    Returns a description of the runs still Running at the deadline (none when all finished);
    the checks then report them as stuck, next to everything else they find.
    """
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        running = api.get("/v1/runs", params={"status": "Running", "limit": 500}).json()["data"]
        quiet = quiet + 1 if not running else 0
        if time.monotonic() > deadline:
            return [describe_run(api, run) for run in running[:20]]
        time.sleep(0.25)
    return []


def describe_run(api: httpx.Client, run: dict[str, Any]) -> str:
    run_id = run["run_id"]
    steps = api.get(f"/v1/runs/{run_id}/steps").json()["data"]
    jobs = api.get(f"/v1/runs/{run_id}/jobs").json()["data"]
    return (
        f"  {run['function_slug']} {run_id}: steps "
        f"{[(s['name'], s['status'], s['attempts']) for s in steps]} jobs {jobs}"
    )


def wait_for_tick(api: httpx.Client, boundary: float, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.get("/v1/runs", params={"function": "chaos-tick", "limit": 50}).json()["data"]
        if any(r["run_started_at"] and _ms(r["run_started_at"]) >= boundary for r in runs):
            return
        time.sleep(0.2)
    raise AssertionError("the cron tick due while the engine was dead never started a run")


def _ms(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def collect(
    api: httpx.Client, chaos: Chaos, events: list[Sent], observer: Observer, sdk: SdkProcess,
    synced_at: float, finished_at: float,
) -> Evidence:  # fmt: skip
    """Read back every event, run and step through the REST API."""
    event_runs: dict[str, list[dict[str, Any]]] = {}
    event_found: dict[str, bool] = {}
    for sent in events:
        if sent.tries:
            event_runs[sent.internal_id] = api.get(f"/v1/events/{sent.internal_id}/runs").json()[
                "data"
            ]
            event_found[sent.internal_id] = (
                api.get(f"/v1/events/{sent.internal_id}").status_code == 200
            )
    runs: dict[str, dict[str, Any]] = {}
    for fn in FUNCTIONS:
        params: dict[str, Any] = {"function": f"chaos-{fn}", "limit": 500}
        while True:
            page = api.get("/v1/runs", params=params).json()
            runs.update({r["run_id"]: r for r in page["data"]})
            cursor = page["metadata"].get("next_cursor")
            if not cursor or not page["data"]:
                break
            params["cursor"] = cursor
    steps = {run_id: api.get(f"/v1/runs/{run_id}/steps").json()["data"] for run_id in runs}
    return Evidence(
        lives=list(chaos.engine.lives), kills=chaos.kills, events=events, releases=dict(observer.releases),
        event_runs=event_runs, event_found=event_found, runs=runs, steps=steps,
        executions=sdk.executions(), calls=sdk.calls(), app_lives=list(sdk.lives),
        seen=dict(observer.seen), changed=list(observer.changed),
        synced_at=synced_at, finished_at=finished_at,
    )  # fmt: skip


def failure_message(settings: Settings, report: Report, chaos: Chaos) -> str:
    parts = [summary(settings, report, chaos.engine), report.describe()]
    if chaos.stuck:
        parts.append(f"runs still Running {DRAIN_TIMEOUT_S}s after the burst:")
        parts += chaos.stuck
    tracebacks = chaos.engine.log_text().count("Traceback")
    parts.append(f"engine log ({tracebacks} tracebacks), tail:\n{chaos.engine.log_tail(4000)}")
    return "\n".join(parts)


def summary(settings: Settings, report: Report, engine: ChaosEngine) -> str:
    f, n = report.figures, report.count
    reruns = n(
        "step re-run after its result was saved",
        "step re-run with no kill in between",
        "more re-runs than calls in flight",
        "saved value changed",
    )
    return (
        f"CHAOS seed={settings.seed} durability={settings.durability} kills={f.get('kills')} lives={len(engine.lives)} "
        f"events={f.get('events')} acked={f.get('acked')} resent={f.get('resent')} (already "
        f"stored {f.get('resent_already_stored')}) echoed={f.get('echoed')} "
        f"abandoned={f.get('abandoned')} (stored {f.get('abandoned_stored')}) "
        f"runs={f.get('runs')} step_executions={f.get('step_executions')} "
        f"(failed attempts {f.get('failed_executions')}) "
        f"app_kills={f.get('app_kills')} (executions lost to them {f.get('lost_by_app_kill')}, "
        f"bound {f.get('app_dup_bound')}) "
        f"duplicates={f.get('duplicates')} (bound {f.get('dup_bound')}; per kill "
        f"{f.get('lost_by_kill')}; max calls open at a kill {f.get('max_open_calls_at_kill')}) "
        f"sdk_calls={f.get('calls')} (reached the SDK after their engine died "
        f"{f.get('late_calls')}; executions a life's arrival time would misattribute "
        f"{f.get('late_by_arrival')}) sampled_saved_steps={f.get('sampled')} "
        f"pending_at_kills={f.get('pending_at_kills')} cron_ticks={f.get('cron_ticks')} "
        f"(due while dead {f.get('cron_ticks_while_dead')}) | lost_events={f.get('lost_events')} "
        f"lost_runs={n('run lost')} duplicated_runs={n('run duplicated')} "
        f"unfinished_runs={n('run stuck', 'run not completed')} illegal_reruns={reruns} "
        f"violations={sum(len(v) for v in report.violations.values())} | "
        f"runtime={f.get('runtime_s')}s {f.get('phases_s')}"
    )
