"""Isolated workers in the pool: one skill version each, recycled, and dying alone.

A worker killed by the seccomp filter mid-job (what a RestrictedPython bypass that reached
for ``ptrace`` would cause) fails that call with the limit's rule id and words; the sidecar
(this process) and another skill's worker carry on untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import inngest
import pytest

from sidecar.isolation.launcher import IsolationStatus, launcher
from sidecar.isolation.process import IsolatedProcess
from sidecar.workers import Release, WorkerLimits, WorkerPool, WorkerProcess
from tests.sidecar_runtime._fake_sdk import context
from tests.sidecar_runtime._harness import skill_source
from tests.sidecar_runtime.test_session import Runner, job_for

from .conftest import wait_for
from .raw_worker import RawLauncher

#: Speaks the worker protocol like a real worker, then makes a system call no worker may.
FORBIDDEN_MID_JOB = """
import ctypes, json, sys
sys.stdout.write(json.dumps({"op": "ready", "cpu": 0}) + "\\n")
sys.stdout.flush()
sys.stdin.readline()  # the job
ctypes.CDLL(None).ptrace(16, 1, 0, 0)  # PTRACE_ATTACH
"""


class ArmedLauncher:
    """Real isolated workers; when armed, the next one runs raw code instead."""

    def __init__(self, raw: RawLauncher) -> None:
        self.raw = raw
        self.status: IsolationStatus = raw.status
        self.armed: str | None = None

    def spawn(self, entry: str, args: list[str]) -> IsolatedProcess:
        if self.armed is not None:
            code, self.armed = self.armed, None
            return self.raw.start(code)
        return self.raw.spawn(entry, args)

    def close(self) -> None:
        pass


@pytest.fixture
def armed(raw: RawLauncher) -> ArmedLauncher:
    return ArmedLauncher(raw)


@pytest.fixture
def pool(armed: ArmedLauncher) -> Iterator[WorkerPool]:
    pool = WorkerPool(WorkerLimits(wall_seconds=60), min_idle=0, max_workers=2, launcher=armed)
    try:
        yield pool
    finally:
        pool.close()


def test_a_seccomp_kill_fails_that_call_alone(armed: ArmedLauncher, pool: WorkerPool) -> None:
    good = Runner(pool, job_for(skill_source("iso-good"), "iso-good"))
    assert good(context({})) == {"ok": True}

    armed.armed = FORBIDDEN_MID_JOB
    bad = Runner(pool, job_for(skill_source("iso-bad"), "iso-bad"))
    with pytest.raises(inngest.NonRetriableError) as caught:
        bad(context({}))
    assert str(caught.value).startswith("[sandbox-seccomp] killed by the seccomp filter")
    assert bad.releases == [Release.KILL]

    # The other skill's worker is the same process, still serving.
    assert good(context({})) == {"ok": True}
    assert good.pids[0] == good.pids[1]
    assert pool.stats()["total"] == 1


def test_a_worker_serves_one_skill_version_only() -> None:
    pool = WorkerPool(WorkerLimits(), min_idle=0, max_workers=1, launcher=launcher())
    try:
        first = pool.acquire("skill-a@1")
        pool.release(first, Release.CLEAN)
        again = pool.acquire("skill-a@1")
        assert again is first  # warm reuse within the version
        pool.release(again, Release.CLEAN)
        other = pool.acquire("skill-a@2")  # a new version never gets the old one's worker
        assert other is not first and other.owner == "skill-a@2"
        assert first.owner == "skill-a@1"
        wait_for(lambda: not first.alive())  # it was replaced, not handed over
        pool.release(other, Release.CLEAN)
        back = pool.acquire("skill-a@1")
        assert back is not first and back is not other
        pool.release(back, Release.CLEAN)
    finally:
        pool.close()


def test_workers_are_recycled_after_max_runs() -> None:
    pool = WorkerPool(WorkerLimits(max_runs=2), min_idle=0, max_workers=1, launcher=launcher())
    try:
        pids = []
        for started in (1, 0, 1, 1):  # a call that resumes a parked run starts no handler
            worker = pool.acquire("skill-r@1")
            pids.append(worker.pid)
            worker.runs += started  # as the session counts the handlers it starts
            pool.release(worker, Release.CLEAN)
        assert pids[0] == pids[1] == pids[2] != pids[3]
    finally:
        pool.close()


def test_a_dead_zygote_is_replaced_and_its_workers_reported_dead() -> None:
    import os
    import signal

    from sidecar.isolation.config import IsolationSettings
    from sidecar.isolation.launcher import IsolatedLauncher

    spawner = IsolatedLauncher(IsolationSettings(max_processes=8))
    try:
        before = WorkerProcess(WorkerLimits(), spawner)
        before.wait_ready()
        os.kill(spawner._zygote_pid, signal.SIGKILL)  # what a crash of the zygote would do
        wait_for(lambda: not before.alive())
        after = WorkerProcess(WorkerLimits(), spawner)  # a new zygote serves it
        after.wait_ready()
        assert after.alive()
        after.kill()
    finally:
        spawner.close()
