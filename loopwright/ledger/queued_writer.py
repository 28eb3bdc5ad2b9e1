"""``QueuedLedgerWriter``: the ledger writer the apps use, off the run's path where it is safe.

Step records, run starts and attempt errors are queued and committed in groups by one
background thread (``GroupCommit``). Marking a run final stays synchronous for the run: it
queues behind that run's step records and waits for its own commit, so by the time the SDK
answers the engine with a run's last call, the ledger holds the finished run with every step.

What a crash can lose: the writes still queued when the process dies — step rows, the run-start
row and attempt errors of runs that have not finished (a finished run was committed before its
last call returned). Milliseconds' worth in practice (the queue drains as fast as the store
commits; at most ``CAPACITY`` writes). The run itself is never lost: the engine retries the call
that was in flight, that call re-reports its step (upserted by run id and step id), and marking
the run final inserts the run row if its start was lost. Lost for good are the rows of steps
whose call had already returned before the crash (the SDK memoises them and never re-runs them):
such a run shows fewer steps than it ran, never a wrong or duplicated one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store

from .group_commit import GroupCommit, OnFailure, Write
from .records import StepRecord
from .writer import LedgerWriter, write_steps


class QueuedLedgerWriter(LedgerWriter):
    def __init__(self, store: Store, on_failure: OnFailure, **queue: Any) -> None:
        super().__init__(store)
        self.queue = GroupCommit(store, on_failure, **queue)

    def step_finished(self, step: StepRecord) -> None:
        # The row is built in the writer thread: the SDK call only appends the record.
        self.queue.put(Write("step", step.run_id, bulk=write_steps, value=step))

    def _write(self, what: str, run_id: str, write: Callable[[sa.Connection], Any]) -> None:
        self.queue.put(Write(what, run_id, write))

    def _final(self, what: str, run_id: str, write: Callable[[sa.Connection], Any]) -> Any:
        # Queued behind the run's own step records, and waited for.
        return self.queue.call(what, run_id, write)

    def flush(self) -> None:
        self.queue.flush()

    def close(self) -> None:
        """Commit everything queued (a clean shutdown loses nothing) and stop the thread."""
        self.queue.close()
