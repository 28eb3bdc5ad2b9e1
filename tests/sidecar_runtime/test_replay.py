"""Step replay through the real SDK and engine: the memos travel in one message, so a call's
conversation with its worker does not grow with the steps already done; it stays correct when
the worker dies between calls or every call lands on another worker. Per-run budgets: steps,
CPU and wall time across calls, events per run and per minute."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.workers import Release, RunLimits, Session

from ._harness import Harness, poll, skill_source

SIDECAR_SETTINGS = {
    "run_limits": RunLimits(
        max_steps=40, cpu_seconds=30, wall_seconds=120, max_events_per_run=3,
        max_events_per_minute=5,
    )
}  # fmt: skip

LOOP = skill_source(
    "rp-loop",
    """
    total = 0
    for i in range(int(ctx.event.data.get("n", 1))):
        total = total + ctx.step.run("add", lambda: i)
    try:
        ctx.step.run("fails", lambda: 1 // 0)
    except skill.StepError as err:
        total = total + 1000
        ctx.log(f"step failed with {err.name}")
    ctx.step.sleep("nap", 10)
    return {"total": total, "after": ctx.step.run("last", lambda: total * 2)}
    """,
    example={"n": 2},
    options="retries=0",
)


class Conversation:
    """Messages each SDK call of the sidecar received from its worker."""

    def __init__(self) -> None:
        self.per_call: list[int] = []
        self.replayed: list[int] = []


@pytest.fixture
def conversation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Conversation]:
    seen = Conversation()
    original_run, original_recv = Session.run, Session._recv
    original_replay = Session._replay

    def run(self: Session) -> Any:
        self.received = 0  # type: ignore[attr-defined]
        try:
            return original_run(self)
        finally:
            seen.per_call.append(self.received)  # type: ignore[attr-defined]

    def recv(self: Session) -> Any:
        self.received += 1  # type: ignore[attr-defined]
        return original_recv(self)

    def replay(self: Session, ids: object) -> None:
        if isinstance(ids, list):
            seen.replayed.append(len(ids))
        original_replay(self, ids)

    monkeypatch.setattr(Session, "run", run)
    monkeypatch.setattr(Session, "_recv", recv)
    monkeypatch.setattr(Session, "_replay", replay)
    yield seen


def test_a_call_talks_to_its_worker_a_constant_number_of_times(
    harness: Harness, conversation: Conversation
) -> None:
    harness.write("rp-loop", LOOP)
    harness.wait_active("rp-loop", 1)
    run = run_to_end(harness, "test/rp-loop", {"n": 30})
    assert run["status"] == "Completed", run["output"]
    assert run["output"] == {"total": sum(range(30)) + 1000, "after": (sum(range(30)) + 1000) * 2}
    # 30 + fails + nap + last = 33 skill steps, one call each, plus the final call.
    assert len(conversation.per_call) == 34
    # Each call: the new step, its callback's answer (or the end): never one message per memo.
    assert max(conversation.per_call) <= 3, conversation.per_call
    # Late calls replay the 30 adds and the failed step in one batch, sent with the log line
    # (so the SDK's logger sees the replay done before the line), then the rest with the step.
    assert max(conversation.replayed) == 31


def run_to_end(harness: Harness, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    run = harness.run_of(harness.send(name, data), timeout=30)
    return harness.wait_run(run["run_id"], timeout=120)


def _kill_idle_workers(harness: Harness) -> list[int]:
    pool = harness.sidecar.pool
    pids = [w.pid for ws in list(pool._idle.values()) for w in ws]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


def test_a_run_survives_its_worker_dying_between_calls(harness: Harness) -> None:
    source = skill_source(
        "rp-crash",
        """
        first = ctx.step.run("first", lambda: 20)
        ctx.step.sleep("gap", 1500)
        second = ctx.step.run("second", lambda: first + 1)
        return {"sum": first + second}
        """,
    )
    harness.write("rp-crash", source)
    harness.wait_active("rp-crash", 1)
    event_id = harness.send("test/rp-crash")
    run = harness.run_of(event_id)
    # While the run sleeps, every idle worker dies; the next call must start afresh.
    killed = _kill_idle_workers_after_first_step(harness, run["run_id"])
    assert killed, "no worker was killed"
    done = harness.wait_run(run["run_id"], timeout=60)
    assert done["status"] == "Completed", done["output"]
    assert done["output"] == {"sum": 41}


def _kill_idle_workers_after_first_step(harness: Harness, run_id: str) -> list[int]:
    poll(
        lambda: any(s.get("name") == "gap" for s in harness.steps(run_id)),
        what="the run to sleep",
        timeout=30,
    )
    time.sleep(0.2)  # the call that planned the sleep gives its worker back
    return _kill_idle_workers(harness)


def test_every_call_on_a_new_worker_gives_the_same_result(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids: list[int] = []
    original = Session.release_mode

    def kill_after_each_call(self: Session) -> Release:
        pids.append(self.worker.pid)
        original(self)
        return Release.KILL

    monkeypatch.setattr(Session, "release_mode", kill_after_each_call)
    harness.write("rp-loop", LOOP)
    harness.wait_active("rp-loop", 1)
    run = run_to_end(harness, "test/rp-loop", {"n": 5})
    assert run["status"] == "Completed", run["output"]
    assert run["output"] == {"total": 1010, "after": 2020}
    assert len(set(pids)) == len(pids) == 9  # a fresh process for each of the 9 calls


def test_the_runtime_caps_steps_per_run(harness: Harness) -> None:
    harness.write("rp-loop", LOOP)
    harness.wait_active("rp-loop", 1)
    run = run_to_end(harness, "test/rp-loop", {"n": 60})
    assert run["status"] == "Failed"
    assert "[runtime-step-limit]" in str(run["output"]) and "max_steps" in str(run["output"])
    names = [s.get("name") for s in harness.steps(run["run_id"]) if s.get("name") == "add"]
    assert len(names) == 40  # the 41st never ran


def test_events_per_run_are_capped_and_the_excess_never_sent(harness: Harness) -> None:
    source = skill_source(
        "rp-chatty",
        """
        for i in range(5):
            ctx.step.send_event("ping", skill.Event("rp-chatty/ping", {"i": i}))
        return {"sent": 5}
        """,
        manifest={"emits": ["rp-chatty/ping"]},
    )
    outcome = harness.submit("rp-chatty", source)
    if outcome["state"] == "awaiting_approval":
        assert harness.post("/v1/skills/rp-chatty/approve", {"by": "test"}).status_code == 200
    harness.wait_active("rp-chatty", 1)
    run = run_to_end(harness, "test/rp-chatty")
    assert run["status"] == "Failed"
    assert "[runtime-event-cap]" in str(run["output"])
    assert "max_events_per_run" in str(run["output"])
    sent = harness.engine.get("/v1/events", params={"name": "rp-chatty/ping"}).json()["data"]
    assert sorted(e["data"]["i"] for e in sent) == [0, 1, 2]  # the 4th was never sent


def test_a_run_past_its_cpu_budget_fails_before_its_next_call_runs(harness: Harness) -> None:
    source = skill_source(
        "rp-budget",
        """
        first = ctx.step.run("first", lambda: 1)
        ctx.step.sleep("gap", 1500)
        second = ctx.step.run("second", lambda: first + 1)
        return {"second": second}
        """,
    )
    harness.write("rp-budget", source)
    harness.wait_active("rp-budget", 1)
    run = harness.run_of(harness.send("test/rp-budget"), timeout=30)
    poll(
        lambda: any(s.get("name") == "gap" for s in harness.steps(run["run_id"])),
        what="the run to sleep",
        timeout=30,
    )
    # As if its calls so far had burnt the whole budget (30 s in this module's settings).
    harness.sidecar.runner.budgets.add_call(run["run_id"], wall_seconds=0.0, cpu_seconds=31.0)
    done = harness.wait_run(run["run_id"], timeout=60)
    assert done["status"] == "Failed"
    assert "[run-budget-cpu]" in str(done["output"])
    assert "run_limits.cpu_seconds" in str(done["output"])
    names = [s.get("name") for s in harness.steps(run["run_id"])]
    assert "second" not in names  # the step after the budget ran out never ran
