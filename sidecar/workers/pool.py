"""A warm pool of worker processes, so running a step never waits for a process to start.

A worker belongs to one *owner* — one skill version — from its first job to its death, and is
never handed to another: whatever one version's code leaves in its interpreter (or its
``/tmp``) no other version sees. ``acquire(owner)`` hands out an idle worker of that owner,
else a *spare* (started ahead, ready, holding no skill code yet) that becomes the owner's,
else starts one while the pool is below ``max_workers``, else replaces the least recently
used idle worker of another owner. ``release`` takes it back in one of three conditions:

* ``clean`` — the job ended (``done`` / ``failed``): the worker is reusable as is;
* ``abandon`` — the SDK interrupted the handler mid-job (that is how every new step ends a
  request): the worker is told to unwind and reused once it confirms;
* ``kill`` — it broke the protocol, a limit, or a deadline: it is killed and replaced.

A background thread keeps ``min_idle`` spares started ahead of demand; when the pool is full
(and larger than ``min_idle``), the idle worker used longest ago gives its slot to a spare. A worker is replaced
after ``limits.max_runs`` handler starts or before it reaches its lifetime CPU allowance.
"""

from __future__ import annotations

import enum
import logging
import threading
import time

from sidecar.isolation.launcher import IsolationError, Launcher

from .process import WorkerLimits, WorkerProcess
from .protocol import ChannelError

log = logging.getLogger("loopwright.sidecar.workers")


class Release(enum.Enum):
    CLEAN = "clean"
    ABANDON = "abandon"
    KILL = "kill"


class PoolClosed(RuntimeError):
    pass


class PoolExhausted(RuntimeError):
    """Every worker stayed busy past the acquire timeout."""


class WorkerPool:
    def __init__(
        self,
        limits: WorkerLimits | None = None,
        *,
        min_idle: int = 1,
        max_workers: int = 4,
        acquire_timeout: float = 60.0,
        launcher: Launcher | None = None,
    ) -> None:
        if max_workers < 1 or not 0 <= min_idle <= max_workers:
            raise ValueError("need 0 <= min_idle <= max_workers and max_workers > 0")
        self.limits = limits or WorkerLimits()
        self.min_idle = min_idle
        self.max_workers = max_workers
        self.acquire_timeout = acquire_timeout
        self.launcher = launcher
        self._spare: list[WorkerProcess] = []
        self._idle: dict[str, list[WorkerProcess]] = {}
        self._count = 0  # spare + idle + busy + starting
        self._cond = threading.Condition()
        self._closed = False
        self._refill = threading.Event()
        self._filler = threading.Thread(target=self._keep_warm, name="worker-pool", daemon=True)
        self._filler.start()
        self._refill.set()

    # --- public -------------------------------------------------------------------------

    def acquire(self, owner: str, run_id: str | None = None) -> WorkerProcess:
        """A ready worker that belongs to ``owner`` (e.g. ``"skill-id@3"``) alone; the one
        holding run ``run_id`` parked (``warm.py``) if it is idle."""
        if not owner:
            raise ValueError("a worker must belong to an owner (one skill version)")
        deadline = time.monotonic() + self.acquire_timeout
        while True:
            worker = self._take(owner, deadline, run_id)
            if worker is None:
                worker = self._start()
            # A spare taken (or none left): the filler starts the next one. A worker of this
            # owner taken from the idle ones leaves the spares as they were: no wake-up.
            spare_used = worker.owner is None
            if worker.owner is None:
                worker.owner = owner
            elif worker.owner != owner:  # cannot happen; refuse loudly rather than mix skills
                self._discard(worker)
                raise RuntimeError(f"worker of {worker.owner} offered to {owner}")
            try:
                worker.wait_ready()
                worker.settle()
                if not worker.alive():  # died while idle: a call must not land on it
                    raise ChannelError("the worker died while idle")
            except ChannelError as err:
                log.warning("worker %s unusable (%s); replacing it", worker.pid, err)
                self._discard(worker)
                continue
            if spare_used:
                self._refill.set()
            return worker

    def release(self, worker: WorkerProcess, how: Release) -> None:
        if how is Release.ABANDON:
            try:
                worker.abandon()
            except ChannelError:
                how = Release.KILL
        if how is Release.KILL or worker.worn_out() or not worker.alive():
            self._discard(worker)
            return
        with self._cond:
            if self._closed:
                self._count -= 1
                worker.kill()
                return
            assert worker.owner is not None
            worker.last_used = time.monotonic()
            self._idle.setdefault(worker.owner, []).append(worker)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle = self._spare + [w for ws in self._idle.values() for w in ws]
            self._spare, self._idle = [], {}
            self._count -= len(idle)
            self._cond.notify_all()
        self._refill.set()
        for worker in idle:
            worker.kill()

    def stats(self) -> dict[str, int]:
        with self._cond:
            idle = sum(len(ws) for ws in self._idle.values())
            return {
                "idle": idle + len(self._spare),
                "spare": len(self._spare),
                "total": self._count,
                "max": self.max_workers,
            }

    # --- internals ----------------------------------------------------------------------

    def _take(self, owner: str, deadline: float, run_id: str | None) -> WorkerProcess | None:
        """An idle worker of ``owner`` or a spare; None when the caller should start one (a
        slot was reserved, if need be by replacing another owner's idle worker)."""
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed("the worker pool is closed")
                mine = self._idle.get(owner)
                if mine:
                    # The worker holding the run furthest along (``warm.py``), else the most
                    # recently used: its caches are warm.
                    ranks = [(w.warm.progress(run_id), i) for i, w in enumerate(mine)]
                    worker = mine.pop(max(ranks)[1])
                    if not mine:
                        del self._idle[owner]
                    return worker
                if self._spare:
                    return self._spare.pop(0)  # the oldest has had the most time to start
                if self._count < self.max_workers:
                    self._count += 1
                    return None
                victim = self._least_recently_used()
                if victim is not None:
                    # The slot passes from the victim to the caller: the count is unchanged.
                    threading.Thread(target=victim.kill, daemon=True).start()
                    self._refill.set()
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolExhausted(f"all {self.max_workers} workers stayed busy")
                self._cond.wait(left)

    def _least_recently_used(self) -> WorkerProcess | None:
        """Remove and return the idle worker used longest ago (caller holds the lock)."""
        candidates = [w for ws in self._idle.values() for w in ws]
        if not candidates:
            return None
        victim = min(candidates, key=lambda w: w.last_used)
        assert victim.owner is not None
        self._idle[victim.owner].remove(victim)
        if not self._idle[victim.owner]:
            del self._idle[victim.owner]
        return victim

    def _start(self) -> WorkerProcess:
        try:
            return WorkerProcess(self.limits, self.launcher)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify_all()
            raise

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._cond:
            self._count -= 1
            self._cond.notify_all()
        self._refill.set()

    def _keep_warm(self) -> None:
        while True:
            self._refill.wait()
            self._refill.clear()
            while True:
                with self._cond:
                    if self._closed:
                        return
                    if len(self._spare) >= self.min_idle:
                        break
                    victim = None
                    if self._count >= self.max_workers:
                        # The slot passes from the idle worker used longest ago to a spare: a
                        # spare serves the next call of any skill at once (a new skill's first
                        # one included), an idle worker only its own skill's.
                        if self.max_workers > self.min_idle:
                            victim = self._least_recently_used()
                        if victim is None:
                            break
                    else:
                        self._count += 1
                if victim is not None:
                    victim.kill()
                try:
                    worker = self._start()
                except (OSError, IsolationError) as err:
                    log.error("could not start a worker: %s", err)
                    time.sleep(1.0)
                    continue
                try:
                    worker.wait_ready()
                except ChannelError as err:
                    log.error("a new worker did not start: %s", err)
                    self._discard(worker)
                    time.sleep(1.0)
                    continue
                with self._cond:
                    if self._closed:
                        self._count -= 1
                        worker.kill()
                        return
                    self._spare.append(worker)
                    self._cond.notify_all()
