"""A warm pool of worker processes, so running a step never waits for a process to start.

``acquire`` hands out an idle, ready worker (starting one only when none is idle and the pool
is below ``max_workers``); ``release`` takes it back in one of three conditions:

* ``clean`` — the job ended (``done`` / ``failed``): the worker is reusable as is;
* ``abandon`` — the SDK interrupted the handler mid-job (that is how every new step ends a
  request): the worker is told to unwind and reused once it confirms;
* ``kill`` — it broke the protocol, a limit, or a deadline: it is killed and replaced.

A background thread keeps ``min_idle`` workers started ahead of demand.
"""

from __future__ import annotations

import enum
import logging
import threading
import time

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
    ) -> None:
        if max_workers < 1 or not 0 <= min_idle <= max_workers:
            raise ValueError("need 0 <= min_idle <= max_workers and max_workers > 0")
        self.limits = limits or WorkerLimits()
        self.min_idle = min_idle
        self.max_workers = max_workers
        self.acquire_timeout = acquire_timeout
        self._idle: list[WorkerProcess] = []
        self._count = 0  # idle + busy + starting
        self._cond = threading.Condition()
        self._closed = False
        self._refill = threading.Event()
        self._filler = threading.Thread(target=self._keep_warm, name="worker-pool", daemon=True)
        self._filler.start()
        self._refill.set()

    # --- public -------------------------------------------------------------------------

    def acquire(self) -> WorkerProcess:
        deadline = time.monotonic() + self.acquire_timeout
        while True:
            worker = self._take(deadline)
            if worker is None:
                worker = self._start()
            try:
                worker.wait_ready()
                worker.settle()
                if not worker.alive():  # died while idle: a call must not land on it
                    raise ChannelError("the worker died while idle")
            except ChannelError as err:
                log.warning("worker %s unusable (%s); replacing it", worker.pid, err)
                self._discard(worker)
                continue
            worker.jobs += 1
            self._refill.set()
            return worker

    def release(self, worker: WorkerProcess, how: Release) -> None:
        if how is Release.ABANDON:
            try:
                worker.send({"op": "abandon"})
                worker.owes_answer = True
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
            self._idle.append(worker)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        self._refill.set()
        for worker in idle:
            worker.kill()

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"idle": len(self._idle), "total": self._count, "max": self.max_workers}

    # --- internals ----------------------------------------------------------------------

    def _take(self, deadline: float) -> WorkerProcess | None:
        """An idle worker; None when the caller should start one (a slot was reserved)."""
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed("the worker pool is closed")
                if self._idle:
                    return self._idle.pop()  # the most recently used: its caches are warm
                if self._count < self.max_workers:
                    self._count += 1
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolExhausted(f"all {self.max_workers} workers stayed busy")
                self._cond.wait(left)

    def _start(self) -> WorkerProcess:
        try:
            return WorkerProcess(self.limits)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._cond:
            self._count -= 1
            self._cond.notify()
        self._refill.set()

    def _keep_warm(self) -> None:
        while True:
            self._refill.wait()
            self._refill.clear()
            while True:
                with self._cond:
                    if self._closed:
                        return
                    short = len(self._idle) < self.min_idle and self._count < self.max_workers
                    if not short:
                        break
                    self._count += 1
                try:
                    worker = self._start()
                except OSError as err:
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
                    self._idle.append(worker)
                    self._cond.notify()
