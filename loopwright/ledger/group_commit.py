"""``GroupCommit``: a bounded queue of ledger writes drained by one writer thread, one
transaction per batch.

A write per SDK call in the caller's thread costs a whole transaction (begin, statements,
commit) on the run's path; queued, the call only appends. The writer thread takes whatever
has accumulated while it committed the previous batch (no timer: under load batches grow by
themselves, when idle a write commits at once) and applies it in one transaction:

- *bulk* writes (step rows) of a batch go first, grouped per function into one execution;
  they must not depend on the batch's other writes (a step row depends on nothing);
- the other writes follow in the order they were queued;
- if the batch's transaction fails, each write is retried alone, so one bad write cannot
  take the others down; a write that fails alone is reported to ``on_failure`` (the ledger
  keeps it as a gap), never raised into a run.

``call`` writes and waits for it to commit (the run-final write): everything queued before
it, that run's step rows included, is committed first or in the same transaction. When the
writer thread is not committing, the caller takes everything queued and commits it with its
own write in its own thread: handing the write to the writer thread and back costs two thread
wake-ups, each of which may wait for the GIL (up to the interpreter's 5 ms switch interval),
about 10 ms per run in bench/skill_steps.py; one batch is committed at a time either way, so
the order holds.
A full queue blocks the caller until the writer frees room (back-pressure, counted) rather
than drop a write; the writer always frees room, since every transaction commits or fails
within the store's busy timeout. ``close`` commits everything queued and stops the thread;
writes arriving after it are written in the caller's thread.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store

log = logging.getLogger("loopwright.ledger")

Apply = Callable[[sa.Connection], Any]
Bulk = Callable[[sa.Connection, list[Any]], None]
OnFailure = Callable[[str, str | None, BaseException], None]

CAPACITY = 10_000
MAX_BATCH = 500
#: How long the writer lets a batch of step records grow before committing it, unless someone
#: waits for a commit (a run-final write, a flush): a transaction's fixed cost is several step
#: rows' worth, so the batch size is the whole saving, and nobody waits on these rows. It is
#: also the most a crash can lose of a run still going (docs/LEDGER.md).
LINGER_S = 0.05


@dataclasses.dataclass(eq=False)
class Write:
    what: str  # "step", "run start", ... (named in a gap)
    run_id: str | None
    apply: Apply | None = None
    bulk: Bulk | None = None
    value: Any = None  # the bulk function's item
    done: threading.Event | None = None  # set when committed or failed (``call``)
    result: Any = None
    error: BaseException | None = None

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        if self.done is not None:
            self.done.set()


class GroupCommit:
    def __init__(
        self,
        store: Store,
        on_failure: OnFailure,
        *,
        capacity: int = CAPACITY,
        max_batch: int = MAX_BATCH,
        linger_s: float = LINGER_S,
    ) -> None:
        if capacity < 1 or max_batch < 1:
            raise ValueError(f"capacity ({capacity}) and max_batch ({max_batch}) must be >= 1")
        self.store = store
        self.on_failure = on_failure
        self.capacity = capacity
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._queue: collections.deque[Write] = collections.deque()
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)  # the writer thread waits on it
        self._cond = threading.Condition(self._lock)  # callers wait on it: room, commits
        self._urgent = 0  # queued writes someone waits for, plus flushes in progress
        self._queued = 0  # writes ever queued; the n-th has sequence number n
        self._committed = 0  # every write up to this sequence number is settled
        self._closing = False
        self._committing = False  # a batch is being committed (by the writer or a caller)
        #: Times a caller found the queue full and waited for room.
        self.backpressure_waits = 0
        self.batches = 0
        self._thread = threading.Thread(target=self._drain, name="ledger-writer", daemon=True)
        self._thread.start()

    # --- callers' side -------------------------------------------------------------------

    def put(self, write: Write) -> None:
        """Queue a write (blocks while the queue is full)."""
        with self._cond:
            if not self._closing and len(self._queue) >= self.capacity:
                self.backpressure_waits += 1
                log.info("ledger: writer queue full (%d), waiting for room", self.capacity)
                self._cond.wait_for(lambda: len(self._queue) < self.capacity or self._closing)
            if not self._closing:
                self._queue.append(write)
                self._queued += 1
                if write.done is not None:
                    self._urgent += 1
                if (
                    len(self._queue) == 1
                    or write.done is not None
                    or (len(self._queue) >= self.max_batch)
                ):
                    self._has_work.notify()
                return
        # Closed: in the caller's thread, after what was queued, so still in order and kept.
        self.flush()
        self._commit([write])

    def call(self, what: str, run_id: str | None, apply: Apply) -> Any:
        """Write, wait until it commits, return its result (or raise its error)."""
        write = Write(what, run_id, apply, done=threading.Event())
        batch = self._take_all_with(write)
        if batch is None:  # the writer thread is committing: queue behind it
            self.put(write)
        else:
            self._commit_taken(batch)
        write.done.wait()  # type: ignore[union-attr]
        if write.error is not None:
            raise write.error
        return write.result

    def _take_all_with(self, write: Write) -> list[Write] | None:
        """Everything queued plus ``write``, taken for the caller to commit; None if a batch
        is being committed (then the order needs the writer thread)."""
        with self._cond:
            if self._committing or self._closing or len(self._queue) >= self.max_batch:
                return None
            batch = [*self._queue, write]
            self._queue.clear()
            self._queued += 1
            self._urgent -= sum(1 for w in batch[:-1] if w.done is not None)
            self._committing = True
            self._cond.notify_all()  # room for blocked callers
            return batch

    def _commit_taken(self, batch: list[Write]) -> None:
        try:
            self._commit(batch)
        except BaseException as err:  # never leave a waiting caller unsettled
            log.exception("ledger: commit error")
            for write in batch:
                if write.done is not None and not write.done.is_set():
                    write.settle(error=err)
        finally:
            with self._cond:
                self._committed += len(batch)
                self.batches += 1
                self._committing = False
                self._cond.notify_all()
                self._has_work.notify()

    def flush(self) -> None:
        """Wait until every write queued before this call is committed (or failed)."""
        with self._cond:
            target = self._queued
            self._urgent += 1
            self._has_work.notify()
            self._cond.wait_for(lambda: self._committed >= target or not self._thread.is_alive())
            self._urgent -= 1

    def close(self) -> None:
        """Commit everything queued, then stop the writer thread (idempotent)."""
        with self._cond:
            self._closing = True
            self._has_work.notify()
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()

    @property
    def closed(self) -> bool:
        """Closed and drained: the writer thread has stopped."""
        return self._closing and not self._thread.is_alive()

    @property
    def queued(self) -> int:
        """Writes queued since the start."""
        return self._queued

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # --- the writer thread ---------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            with self._lock:
                self._has_work.wait_for(lambda: bool(self._queue) or self._closing)
                if not self._queue:
                    return  # closing and drained
                self._has_work.wait_for(self._batch_ready, timeout=self.linger_s)
                # A caller may be committing what it took (``call``): one batch at a time.
                self._has_work.wait_for(lambda: not self._committing)
                if not self._queue:
                    continue  # that caller took it all
                batch = [
                    self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))
                ]
                self._urgent -= sum(1 for w in batch if w.done is not None)
                self._committing = True
                self._cond.notify_all()  # room for blocked callers
            self._commit_taken(batch)

    def _batch_ready(self) -> bool:
        return self._urgent > 0 or self._closing or len(self._queue) >= self.max_batch

    def _commit(self, batch: list[Write]) -> None:
        try:
            results = self.store.write(lambda conn: _apply_all(conn, batch))
        except Exception as err:
            if len(batch) == 1:
                self._report(batch[0], err)
            else:  # find the bad write(s): the others still commit
                for write in batch:
                    self._commit([write])
            return
        for write, result in zip(batch, results, strict=True):
            write.settle(result)

    def _report(self, write: Write, err: Exception) -> None:
        if write.done is None:  # nobody waits for it: the ledger keeps the gap
            self.on_failure(write.what, write.run_id, err)
        write.settle(error=err)  # a waiting caller gets the error and reports it


def _apply_all(conn: sa.Connection, batch: list[Write]) -> list[Any]:
    groups: dict[Bulk, list[Any]] = {}
    for write in batch:
        if write.bulk is not None:
            groups.setdefault(write.bulk, []).append(write.value)
    for bulk, values in groups.items():
        bulk(conn, values)
    return [write.apply(conn) if write.apply is not None else None for write in batch]
