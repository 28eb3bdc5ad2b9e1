"""What one run of a skill may spend across all its SDK calls, and how much it has spent.

Inngest calls a function once per step, so a run is many calls, each one bounded by the
worker's per-call limits (``WorkerLimits``). The budget bounds the *run*: its steps, the wall
time and CPU time of all its calls added up (the sidecar's thread and the worker's process),
and the events it sends — plus the events one skill sends per minute over all its runs, so a
loop of skills triggering each other cannot flood the engine.

A run's usage is kept by a ``RunUsageLedger`` (``run_usage.py``): in the platform store,
written behind, when the sidecar runs (``sidecar/run_usage_store.py``: a restart, or another
replica taking the run's next call, keeps counting from what it spent), in memory when none is
given (unit tests). The steps limit needs neither (the sidecar counts the steps the SDK
replays on every call). The per-minute event rate of a
skill is counted by each sidecar process.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time

from .run_usage import MemoryRunUsage, RunUsage, RunUsageLedger


@dataclasses.dataclass(frozen=True)
class RunLimits:
    """Settings: caps on one run and on one skill's event rate."""

    #: Steps one run may take, replayed ones included (the engine's cap is 1000; runs started
    #: before version pins moved to the store spent one on a pin step).
    max_steps: int = 999
    #: Wall-clock seconds of all the calls of one run, added up (sleeps and waits between
    #: calls do not count).
    wall_seconds: float = 300.0
    #: CPU seconds of all the calls of one run (sidecar thread + worker), added up.
    cpu_seconds: float = 60.0
    #: Events one run may send, over all its ``send_event`` steps.
    max_events_per_run: int = 100
    #: Events one skill may send per minute, over all its runs.
    max_events_per_minute: int = 120

    def __post_init__(self) -> None:
        if not 1 <= self.max_steps <= 999:
            raise ValueError("max_steps must be between 1 and 999 (the engine caps runs at 1000)")
        if self.wall_seconds <= 0 or self.cpu_seconds <= 0:
            raise ValueError("wall_seconds and cpu_seconds must be positive")
        if self.max_events_per_run < 1 or self.max_events_per_minute < 1:
            raise ValueError("event caps must be at least 1")


class BudgetExceeded(Exception):
    """The run (or the skill) spent its budget; ``rule`` names which one."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class RunBudgets:
    """The usage ledger of every run and skill this sidecar serves (thread-safe)."""

    def __init__(
        self, limits: RunLimits | None = None, usage: RunUsageLedger | None = None
    ) -> None:
        self.limits = limits or RunLimits()
        self._runs: RunUsageLedger = usage or MemoryRunUsage()
        self._sent: dict[str, collections.deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def usage(self, run_id: str) -> RunUsage:
        with self._lock:
            return self._runs.get(run_id)

    def check_call(self, run_id: str, *, first: bool = False) -> float:
        """Before a call: refuse it when the run already spent its time; else the CPU seconds
        it has left. ``first``: the run's first call (its usage is not looked up)."""
        limits = self.limits
        with self._lock:
            used = self._runs.get_new(run_id) if first else self._runs.get(run_id)
            if used.cpu_seconds >= limits.cpu_seconds:
                raise BudgetExceeded(
                    "run-budget-cpu",
                    f"the run used {used.cpu_seconds:.2f}s of CPU over {used.calls} calls; "
                    f"its budget is {limits.cpu_seconds:g}s (setting run_limits.cpu_seconds)",
                )
            if used.wall_seconds >= limits.wall_seconds:
                raise BudgetExceeded(
                    "run-budget-wall",
                    f"the run's calls took {used.wall_seconds:.2f}s over {used.calls} calls; "
                    f"its budget is {limits.wall_seconds:g}s (setting run_limits.wall_seconds)",
                )
            return limits.cpu_seconds - used.cpu_seconds

    def cpu_left(self, run_id: str) -> float:
        with self._lock:
            return max(0.0, self.limits.cpu_seconds - self._runs.get(run_id).cpu_seconds)

    def add_call(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None:
        with self._lock:
            self._runs.add_call(run_id, wall_seconds, cpu_seconds)

    def finish(self, run_id: str) -> None:
        """The run's function returned or failed in this call (its usage is written now)."""
        with self._lock:
            self._runs.finish(run_id)

    def send_events(self, skill_id: str, run_id: str, count: int) -> None:
        """Count ``count`` events about to be sent, or refuse them (nothing is counted then)."""
        limits = self.limits
        now = time.monotonic()
        with self._lock:
            self._refuse_over_run_cap(self._runs.get(run_id), count)
            window = self._sent.setdefault(skill_id, collections.deque())
            while window and window[0][0] <= now - 60.0:
                window.popleft()
            recent = sum(n for _, n in window)
            if recent + count > limits.max_events_per_minute:
                raise BudgetExceeded(
                    "runtime-event-cap",
                    f"skill {skill_id!r} sent {recent} events in the last minute and may send "
                    f"at most {limits.max_events_per_minute} "
                    "(setting run_limits.max_events_per_minute)",
                )
            # Checked and counted at once: another replica may be counting the same run.
            refused = self._runs.add_events(run_id, count, limits.max_events_per_run)
            if refused is not None:
                self._refuse_over_run_cap(refused, count)
            window.append((now, count))

    def _refuse_over_run_cap(self, used: RunUsage, count: int) -> None:
        if used.events + count > self.limits.max_events_per_run:
            raise BudgetExceeded(
                "runtime-event-cap",
                f"the run already sent {used.events} events and may send at most "
                f"{self.limits.max_events_per_run} (setting run_limits.max_events_per_run)",
            )
