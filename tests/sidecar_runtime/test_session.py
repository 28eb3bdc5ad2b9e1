"""The sidecar's half of a run, against real worker processes and a stand-in for the SDK.

Covers the step conversation (memo, execute, abandon, step errors, errors crossing back with
their name) and the run-time sandbox: wall-clock, CPU and memory limits, a scrubbed
environment, a worker killed and replaced after misbehaving.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import inngest
import pytest

from sidecar.capabilities import FakeCapabilityProvider
from sidecar.facade.capabilities import build_capabilities
from sidecar.validation import SkillSpec, validate_source
from sidecar.workers import Job, Release, Session, WorkerLimits, WorkerPool

from ._fake_sdk import Interrupt, context, drive
from ._harness import skill_source

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(
        # A generous wall clock: on a loaded host 1 CPU second can take many wall seconds, and
        # the CPU limit must be what stops the burner.
        WorkerLimits(job_cpu_seconds=1, wall_seconds=60, memory_bytes=300 * MiB),
        min_idle=1,
        max_workers=2,
    )
    try:
        yield pool
    finally:
        pool.close()


def job_for(source: str, skill_id: str) -> Job:
    report = validate_source(source, f"{skill_id.replace('-', '_')}.py")
    assert report.ok, report.render()
    spec: SkillSpec = report.skill  # type: ignore[assignment]
    return Job(
        skill_id=skill_id,
        version=1,
        content_hash=spec.source_sha256,
        filename=f"{skill_id.replace('-', '_')}.py",
        source=source,
        fn_id=skill_id,
        failure=False,
        manifest=spec.manifest,
        app_id="test-app",
    )


class Runner:
    """Run one job per call on the pool, releasing workers as the sidecar does."""

    def __init__(self, pool: WorkerPool, job: Job) -> None:
        self.pool, self.job = pool, job
        self.pids: list[int] = []
        self.releases: list[Release] = []

    def __call__(self, ctx: Any) -> Any:
        caps = build_capabilities(
            self.job.manifest.capabilities,
            FakeCapabilityProvider().backends(self.job.skill_id, self.job.manifest.capabilities),
            lambda call: None,
        )
        worker = self.pool.acquire(f"{self.job.skill_id}@{self.job.version}")
        self.pids.append(worker.pid)
        session = Session(worker, ctx, self.job, caps, cpu_seconds=1)
        try:
            return session.run()
        finally:
            self.releases.append(session.release_mode())
            self.pool.release(worker, session.release_mode())


STEPS = skill_source(
    "ss-steps",
    """
    a = ctx.step.run("a", lambda: 1)
    b = ctx.step.run("b", lambda: a + 1)
    ctx.step.sleep("nap", 1000)
    metrics = ctx.step.run("m", lambda: ctx.capabilities.metrics.query("up"))
    return {"a": a, "b": b, "metric": metrics[0]["value"]}
    """,
    capabilities={"metrics": {"sources": ["prometheus"]}},
)


def test_a_run_is_replayed_call_by_call_on_warm_workers(pool: WorkerPool) -> None:
    runner = Runner(pool, job_for(STEPS, "ss-steps"))
    result, memos, interrupts = drive(runner)
    assert result == {"a": 1, "b": 2, "metric": 0.12}
    assert [i.step_id for i in interrupts] == ["a", "b", "nap", "m"]
    assert memos["m"] == [{"labels": {"service": "demo"}, "value": 0.12}]
    # After running a step's callback the worker unwinds on its own; the sleep needs telling.
    unwound, told = Release.UNWINDING, Release.ABANDON
    assert runner.releases == [unwound, unwound, told, unwound, Release.CLEAN]
    assert len(set(runner.pids)) == 1  # abandoned workers are reused, no process per call


def test_step_errors_and_skill_errors_cross_back(pool: WorkerPool) -> None:
    source = skill_source(
        "ss-errors",
        """
        try:
            ctx.step.run("flaky", lambda: 1)
        except skill.StepError as err:
            return {"name": err.name, "message": err.message}
        return {"name": None}
        """,
    )
    runner = Runner(pool, job_for(source, "ss-errors"))
    ctx = context({}, failed={"flaky": ("ValueError", "nope")})
    assert runner(ctx) == {"name": "ValueError", "message": "nope"}

    raising = skill_source(
        "ss-raise",
        """
        value = ctx.step.run("look", lambda: ctx.event.data["missing"])
        return value
        """,
        example={"missing": 1},
    )
    runner = Runner(pool, job_for(raising, "ss-raise"))
    with pytest.raises(Interrupt) as caught:
        runner(context({}, data={}))
    assert type(caught.value.error).__name__ == "KeyError"
    assert "missing" in str(caught.value.error)


def test_non_retriable_and_violations_fail_the_run(pool: WorkerPool) -> None:
    source = skill_source(
        "ss-fatal",
        """
        if ctx.event.data.get("stop"):
            raise skill.NonRetriableError("stop here")
        if ctx.event.data.get("bad"):
            return {"keys": {1: "an int key does not survive JSON"}}
        return {"ok": True}
        """,
    )
    runner = Runner(pool, job_for(source, "ss-fatal"))
    with pytest.raises(inngest.NonRetriableError, match="stop here"):
        runner(context({}, data={"stop": True}))
    with pytest.raises(inngest.NonRetriableError, match=r"\[step-output-invalid\]"):
        runner(context({}, data={"bad": True}))
    assert runner(context({}, data={})) == {"ok": True}
    assert runner.releases == [Release.CLEAN] * 3


BURN = skill_source(
    "ss-burn",
    """
    n = 0
    if ctx.event.data.get("burn"):
        for i in range(100000):
            for j in range(100000):
                n = n + 1
    return {"n": n}
    """,
)


def test_a_handler_past_its_cpu_limit_is_killed(pool: WorkerPool) -> None:
    runner = Runner(pool, job_for(BURN, "ss-burn"))
    with pytest.raises(inngest.NonRetriableError, match=r"\[sandbox-cpu-limit\]"):
        runner(context({}, data={"burn": True}))
    assert runner.releases == [Release.KILL]
    assert runner(context({}, data={})) == {"n": 0}  # a fresh worker takes over
    assert runner.pids[0] != runner.pids[1]


def test_a_silent_worker_is_killed_at_the_wall_clock_deadline(pool: WorkerPool) -> None:
    slow = WorkerPool(WorkerLimits(job_cpu_seconds=30, wall_seconds=0.5), min_idle=0, max_workers=1)
    try:
        runner = Runner(slow, job_for(BURN, "ss-burn"))
        with pytest.raises(inngest.NonRetriableError, match=r"\[sandbox-timeout\]"):
            runner(context({}, data={"burn": True}))
        assert runner.releases == [Release.KILL]
    finally:
        slow.close()


def test_a_memory_bomb_is_stopped(pool: WorkerPool) -> None:
    source = skill_source(
        "ss-bomb",
        """
        chunks = []
        if ctx.event.data.get("bomb"):
            for i in range(100):
                chunks.append([i] * 9000000)
        return {"chunks": len(chunks)}
        """,
    )
    runner = Runner(pool, job_for(source, "ss-bomb"))
    with pytest.raises(inngest.NonRetriableError, match=r"\[sandbox-memory-limit\]"):
        runner(context({}, data={"bomb": True}))
    assert runner.releases == [Release.KILL]  # a MemoryError leaves the worker suspect


def test_workers_hold_no_secrets_and_carry_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INNGEST_SIGNING_KEY", "OPENAI_API_KEY", "LOOPWRIGHT_SLACK_BOT_TOKEN"):
        monkeypatch.setenv(name, "secret-value")
    limits = WorkerLimits(memory_bytes=300 * MiB, lifetime_cpu_seconds=120)
    fresh = WorkerPool(limits, min_idle=0, max_workers=1)
    try:
        worker = fresh.acquire("skill@1")
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
        assert names <= {"PATH", "LANG", "LC_ALL", "LC_CTYPE"}
        assert os.readlink(f"/proc/{worker.pid}/cwd") == "/"
        table = Path(f"/proc/{worker.pid}/limits").read_text()
        rows = {line[:26].strip(): line[26:].split() for line in table.splitlines()[1:]}
        assert rows["Max address space"][:2] == [str(300 * MiB)] * 2
        assert rows["Max file size"][:2] == ["0", "0"]
        assert rows["Max cpu time"][1] == "120"
        fresh.release(worker, Release.CLEAN)
    finally:
        fresh.close()
