"""A run's handler stays parked in its worker between SDK calls and is resumed, not replayed,
when the next call continues exactly what the worker saw; anything else replays it cold.

Each call is made as the engine makes it, straight to the sidecar's SDK (``Harness.sdk_call``),
so the test chooses the memos. What the sidecar tells workers shows how a call was served:
``start`` runs the handler from its beginning (a cold replay), ``resume`` continues a parked one.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sidecar.workers.pool import Release, WorkerPool
from sidecar.workers.process import WorkerProcess
from sidecar.workers.warm import MAX_PARKED_RUNS

from ._harness import Harness, skill_source

STEPS = 12
COUNTER = skill_source(
    "sc-warm",
    f"""
    seen = []
    for i in range({STEPS}):
        seen.append(ctx.step.run("s", lambda: i * 10))
    return {{"seen": seen}}
    """,
)
EXPECTED = {"seen": [i * 10 for i in range(STEPS)]}


@pytest.fixture
def ops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ops the sidecar sends to workers, in order."""
    sent: list[str] = []
    send = WorkerProcess.send

    def spy(self: WorkerProcess, message: dict[str, Any]) -> None:
        sent.append(message["op"])
        send(self, message)

    monkeypatch.setattr(WorkerProcess, "send", spy)
    yield sent


@pytest.fixture
def counter(harness: Harness) -> str:
    if harness.skill("sc-warm") is None:
        assert harness.submit("sc-warm", COUNTER)["state"] == "active"
    return "sc-warm"


def pool(harness: Harness) -> WorkerPool:
    pool: WorkerPool = harness.sidecar.pool  # type: ignore[attr-defined]
    return pool


def step(harness: Harness, run_id: str, memos: dict[str, Any]) -> httpx.Response:
    """One call; the new step it ran becomes a memo (as the engine would store it)."""
    response = harness.sdk_call("sc-warm", run_id, memos)
    if response.status_code == 206:
        (op,) = response.json()
        assert op["op"] == "StepRun", op
        memos[op["id"]] = {"data": op["data"]}
    return response


def three_steps_in(harness: Harness, run_id: str) -> dict[str, Any]:
    """A run three calls along (its worker holds it parked); its memos so far."""
    memos: dict[str, Any] = {}
    for _ in range(3):
        assert step(harness, run_id, memos).status_code == 206
    return memos


def finish(harness: Harness, run_id: str, memos: dict[str, Any]) -> Any:
    for _ in range(STEPS + 1):
        response = step(harness, run_id, memos)
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 206, response.text
    raise AssertionError("the run did not end")


def test_a_long_run_resumes_warm_and_ends_as_a_cold_replay_would(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    run_id = "01JWARMRUNS000000000000001"
    memos: dict[str, Any] = {}
    assert finish(harness, run_id, memos) == EXPECTED
    # The handler started once; every later call resumed it where it waited.
    assert ops.count("start") == 1
    assert ops.count("resume") == STEPS
    assert ops.count("memo") == STEPS  # only the pending step's answer crossed the pipe

    ops.clear()
    cold = harness.sdk_call(counter, run_id, memos)  # the finished run is held nowhere
    assert (cold.status_code, cold.json()) == (200, EXPECTED)
    assert ops == ["start"]


def test_resumes_do_not_wear_a_worker_out_handler_starts_do(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    run_id = "01JWARMRUNS000000000000002"
    memos = three_steps_in(harness, run_id)
    (worker,) = [w for ws in pool(harness)._idle.values() for w in ws if w.warm.holds(run_id)]
    worker.limits = dataclasses.replace(worker.limits, max_runs=worker.runs + 1)
    assert finish(harness, run_id, memos) == EXPECTED  # resumes only: the worker stays
    assert worker.alive() and ops.count("start") == 1
    # A new run lands on the same worker (it holds the owner's only idle slot): its last start.
    assert step(harness, "01JWARMRUNS000000000000003", {}).status_code == 206
    assert ops.count("start") == 2
    deadline = time.monotonic() + 10
    while worker.alive() and time.monotonic() < deadline:  # released worn out: replaced
        time.sleep(0.01)
    assert not worker.alive()


def test_a_call_on_another_worker_or_after_a_kill_replays_cold(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    run_id = "01JWARMRUNS000000000000002"
    memos = three_steps_in(harness, run_id)
    assert "resume" in ops

    # The worker holding the run is busy: the call lands on another worker, cold.
    owner = next(o for o in pool(harness)._idle if o.startswith("sc-warm@"))
    holder = pool(harness).acquire(owner, run_id)
    assert holder.warm.holds(run_id)
    try:
        ops.clear()
        assert step(harness, run_id, memos).status_code == 206
        assert ops[0] == "start" and "resume" not in ops
    finally:
        pool(harness).release(holder, Release.CLEAN)

    fresh = [w for ws in pool(harness)._idle.values() for w in ws if w.warm.holds(run_id)]
    fresh.remove(holder)
    assert len(fresh) == 1
    # Both hold the run; the next call goes to the one holding it furthest along.
    ops.clear()
    assert step(harness, run_id, memos).status_code == 206
    assert ops[0] == "resume"

    # That worker dies: the call lands on the other one, whose parked handler is stale: it is
    # dropped and the run replayed.
    os.kill(fresh[0].pid, signal.SIGKILL)
    ops.clear()
    assert step(harness, run_id, memos).status_code == 206
    assert ops[0] == "start" and "resume" not in ops
    assert finish(harness, run_id, memos) == EXPECTED


def test_a_memo_unlike_the_output_the_worker_produced_forces_a_replay(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    run_id = "01JWARMRUNS000000000000003"
    memos = three_steps_in(harness, run_id)
    last = list(memos)[-1]
    memos[last] = {"data": 999}  # not what the worker's run of that step returned

    ops.clear()
    assert step(harness, run_id, memos).status_code == 206
    assert ops[0] == "start" and "resume" not in ops  # replayed from the engine's memos
    result = finish(harness, run_id, memos)
    assert result["seen"][2] == 999  # the engine's memo is the truth, as in any replay
    assert result["seen"][3:] == EXPECTED["seen"][3:]


def test_an_extra_or_missing_memo_forces_a_replay(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    run_id = "01JWARMRUNS000000000000004"
    memos = three_steps_in(harness, run_id)
    ops.clear()
    assert step(harness, run_id, dict(list(memos.items())[:-1])).status_code == 206  # one lost
    assert ops[0] == "start"
    assert finish(harness, run_id, memos) == EXPECTED


SLEEPER = skill_source(
    "sc-warm-sleeper",
    """
    a = ctx.step.run("a", lambda: 1)
    ctx.step.sleep("nap", 1000)
    try:
        ctx.step.run("fails", lambda: 1)
    except skill.StepError as err:
        a += len(err.name)
    return {"a": a}
    """,
)


def test_a_handler_parked_at_a_sleep_resumes_and_an_error_memo_it_did_not_produce_replays(
    harness: Harness, ops: list[str]
) -> None:
    if harness.skill("sc-warm-sleeper") is None:
        assert harness.submit("sc-warm-sleeper", SLEEPER)["state"] == "active"
    run_id = "01JWARMRUNS000000000000005"
    memos: dict[str, Any] = {}
    kinds = []
    for _ in range(4):
        response = harness.sdk_call("sc-warm-sleeper", run_id, memos)
        if response.status_code == 200:
            break
        (op,) = response.json()
        kinds.append(op["op"])
        # The engine's memos: the first step's output, the sleep's, then the second step's
        # error (as if its retries were spent).
        if op["op"] == "Sleep":
            memos[op["id"]] = {"data": None}
        elif kinds.count("StepRun") == 1:
            memos[op["id"]] = {"data": op["data"]}
        else:
            memos[op["id"]] = {"error": {"name": "Boom", "message": "no", "stack": ""}}
    assert kinds == ["StepRun", "Sleep", "StepRun"]
    assert (response.status_code, response.json()) == (200, {"a": 1 + len("Boom")})
    # Resumed after the first step and after the sleep; the last step's callback returned 1
    # but the engine says it failed: that call replays the handler from the engine's memos.
    assert [op for op in ops if op in ("start", "resume")] == ["start", "resume", "resume", "start"]


def test_a_worker_keeps_a_bounded_number_of_parked_runs(
    harness: Harness, counter: str, ops: list[str]
) -> None:
    runs = [f"01JWARMRUNS0000000000001{i:02d}" for i in range(MAX_PARKED_RUNS + 1)]
    memos: dict[str, dict[str, Any]] = {run_id: {} for run_id in runs}
    for run_id in runs:  # one step each, one after the other: all on the same warm worker
        assert step(harness, run_id, memos[run_id]).status_code == 206
    parked = sum(len(w.warm) for ws in pool(harness)._idle.values() for w in ws)
    assert parked <= MAX_PARKED_RUNS * pool(harness).stats()["total"]

    ops.clear()
    assert step(harness, runs[-1], memos[runs[-1]]).status_code == 206
    assert ops[0] == "resume"  # the last parked is held
    ops.clear()
    assert step(harness, runs[0], memos[runs[0]]).status_code == 206
    assert ops[0] == "start"  # the first was evicted when the last was parked
    for run_id in runs:
        assert finish(harness, run_id, memos[run_id]) == EXPECTED
