"""What each run has spent so far (calls, wall and CPU seconds, events), where it is kept.

``MemoryRunUsage`` keeps it in this process (bounded: the least recently seen runs are
forgotten first): a restart forgets it. The sidecar keeps it in the platform store instead
(``sidecar/run_usage_store.py``). This module stays free of the store: sandboxed workers
import this package, and they have no database library (nor any business with one).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Protocol

#: Runs whose usage ``MemoryRunUsage`` remembers at once (an LRU beyond).
MAX_TRACKED_RUNS = 10_000


@dataclasses.dataclass
class RunUsage:
    calls: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    events: int = 0


class RunUsageLedger(Protocol):
    """Callers serialise calls for one process (``RunBudgets`` holds a lock)."""

    def get(self, run_id: str) -> RunUsage: ...

    def get_new(self, run_id: str) -> RunUsage:
        """``get`` for the run's first call (nothing spent anywhere yet: no store to read)."""
        ...

    def add_call(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None: ...

    def add_events(self, run_id: str, count: int, cap: int) -> RunUsage | None:
        """Count ``count`` events if the run stays within ``cap``: None when counted, else
        the usage that refused them (nothing counted)."""
        ...

    def finish(self, run_id: str) -> None:
        """The run's function ended (returned or failed): a ledger that writes behind writes
        the run's usage now rather than after its interval."""
        ...


class MemoryRunUsage:
    def __init__(self) -> None:
        self._runs: collections.OrderedDict[str, RunUsage] = collections.OrderedDict()

    def get(self, run_id: str) -> RunUsage:
        return dataclasses.replace(self._usage(run_id))

    def get_new(self, run_id: str) -> RunUsage:
        return self.get(run_id)

    def add_call(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None:
        used = self._usage(run_id)
        used.calls += 1
        used.wall_seconds += wall_seconds
        used.cpu_seconds += cpu_seconds

    def add_events(self, run_id: str, count: int, cap: int) -> RunUsage | None:
        used = self._usage(run_id)
        if used.events + count > cap:
            return dataclasses.replace(used)
        used.events += count
        return None

    def finish(self, run_id: str) -> None:
        pass  # nothing is pending: memory is where the usage stays

    def _usage(self, run_id: str) -> RunUsage:
        used = self._runs.get(run_id)
        if used is None:
            used = self._runs[run_id] = RunUsage()
            while len(self._runs) > MAX_TRACKED_RUNS:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return used
