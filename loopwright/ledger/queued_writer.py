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

from typing import Any

from loopwright.store import Store

from .group_commit import GroupCommit, OnFailure, Write
from .records import StepRecord
from .writer import (
    CallStart,
    LedgerWriter,
    RunFinish,
    Usage,
    error_fields,
    write_attempt_failed,
    write_call_started,
    write_steps,
)


class QueuedLedgerWriter(LedgerWriter):
    def __init__(self, store: Store, on_failure: OnFailure, **queue: Any) -> None:
        super().__init__(store)
        self.queue = GroupCommit(store, on_failure, **queue)

    def call_started(self, call: CallStart) -> None:
        self.queue.put(Write("run start", call.run_id, lambda conn: write_call_started(conn, call)))

    def attempt_failed(self, run_id: str, attempt: int, error: BaseException | str) -> None:
        code, message = error_fields(error)
        self.queue.put(
            Write("attempt error", run_id, lambda c: write_attempt_failed(c, run_id, code, message))
        )

    def step_finished(self, step: StepRecord) -> None:
        # The row is built in the writer thread: the SDK call only appends the record.
        self.queue.put(Write("step", step.run_id, bulk=write_steps, value=step))

    def run_finished(
        self,
        run_id: str,
        *,
        status: str,
        at: float,
        start: CallStart | None = None,
        error: BaseException | str | None = None,
        output: Any = None,
        usage: Usage | None = None,
    ) -> bool:
        finish = RunFinish.of(run_id, status=status, at=at, start=start, error=error,
                              output=output, usage=usage)  # fmt: skip
        return bool(self.queue.call("run end", run_id, finish.write))

    def flush(self) -> None:
        self.queue.flush()

    def close(self) -> None:
        """Commit everything queued (a clean shutdown loses nothing) and stop the thread."""
        self.queue.close()
