"""A full pool still keeps a spare: a new skill's first call never waits for a worker to start.

Every skill version has workers of its own, so a pool full of idle workers of other skills
used to start the new skill's worker on demand, inside its first call (hot registration
paid for it). Now the idle worker used longest ago gives its slot to a spare.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sidecar.isolation.launcher import Launcher, Process, launcher
from sidecar.workers import Release, WorkerLimits, WorkerPool

from ._harness import poll


class CountingLauncher:
    """The real launcher; remembers every worker it started, in order."""

    def __init__(self, inner: Launcher) -> None:
        self.inner = inner
        self.status = inner.status
        self.started: list[Process] = []

    def spawn(self, entry: str, args: list[str]) -> Process:
        process = self.inner.spawn(entry, args)
        self.started.append(process)
        return process

    def close(self) -> None:
        pass


@pytest.fixture
def counting() -> CountingLauncher:
    return CountingLauncher(launcher())


@pytest.fixture
def pool(counting: CountingLauncher) -> Iterator[WorkerPool]:
    pool = WorkerPool(WorkerLimits(), min_idle=1, max_workers=2, launcher=counting)
    try:
        yield pool
    finally:
        pool.close()


def spare_ready(pool: WorkerPool) -> bool | None:
    return pool.stats()["spare"] == 1 or None


def test_a_new_skill_gets_a_spare_when_idle_workers_of_others_fill_the_pool(
    pool: WorkerPool, counting: CountingLauncher
) -> None:
    poll(lambda: spare_ready(pool), what="the first spare")
    first = pool.acquire("skill-a@1")
    pool.release(first, Release.CLEAN)
    second = pool.acquire("skill-b@1")
    pool.release(second, Release.CLEAN)
    # Two idle workers of two skills fill the pool (max 2); the older one makes room.
    poll(lambda: spare_ready(pool), what="a spare in a full pool")
    assert pool.stats()["total"] == 2
    assert not first.alive()  # skill-a's idle worker gave its slot up
    started_before = list(counting.started)

    third = pool.acquire("skill-c@1")
    try:
        # The new skill's worker was started ahead of its first call, not inside it.
        assert any(third.pid == p.pid for p in started_before)
        assert third.owner == "skill-c@1" and third is not second
    finally:
        pool.release(third, Release.CLEAN)
