"""Per-run budget usage kept in the platform store's ``run_usage`` table, written behind.

A sidecar restart, or another replica serving the run's next call, sees what the run spent.
Reading and writing the row on every SDK call cost about a quarter of the sidecar's time per
call, so the usage is kept in memory and written behind:

- ``get`` answers from memory: the usage read from the store (once per run, and again when
  that read is older than ``REREAD_AFTER_S``, so another replica's spending shows up) plus
  every call counted here since. Caps are therefore enforced before anything is written. A
  run's first call (attempt 0, no memo: ``get_new``) reads nothing: no call has spent yet.
- ``add_call`` only adds to memory; a writer thread adds the pending deltas of every run to
  the store in one transaction (counters are added by an upsert, so replicas never lose an
  addition), ``FLUSH_INTERVAL_S`` after the first delta, at once when a run's function ended
  (``finish``), and on ``close`` (a graceful shutdown loses nothing).
- What a crash (not a clean stop) forgets: the calls of the last ``FLUSH_INTERVAL_S``, per
  run. A run that resumes on a restarted sidecar gets at most that much of its budget back.
- ``add_events`` stays one transaction in the caller's thread: the event cap is checked and
  counted at once across replicas.

(Outside ``sidecar/workers``: sandboxed workers import that package and must not need a
database library.)
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from loopwright.store import Store, metadata, upsert, upsert_many

from .workers.run_usage import MAX_TRACKED_RUNS, RunUsage

log = logging.getLogger("loopwright.sidecar.runs")

#: Stored usage of runs without a call for this long is deleted (a run that sleeps longer
#: starts its budget again; calls, not sleeps, are what the budget counts).
STORED_USAGE_TTL_S = 14 * 24 * 3600
#: Every this many calls written, ``StoredRunUsage`` deletes the usage of long-idle runs.
PRUNE_EVERY_CALLS = 1000
#: Pending deltas are written at most this long after the first of them: what a crash forgets.
FLUSH_INTERVAL_S = 1.0
#: A run's usage read from the store is read again after this long (other replicas' calls).
REREAD_AFTER_S = 1.0

usage_table = sa.Table(
    "run_usage",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("wall_seconds", sa.Float, nullable=False),
    sa.Column("cpu_seconds", sa.Float, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("run_usage_updated", "updated_at"),
)


@dataclasses.dataclass
class _Known:
    """A run's usage as this process knows it: the store's (as read at ``read_at``) plus the
    calls counted here since."""

    usage: RunUsage
    read_at: float


class StoredRunUsage:
    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        reread_after_s: float = REREAD_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if flush_interval_s <= 0 or reread_after_s < 0:
            raise ValueError("flush_interval_s must be positive and reread_after_s not negative")
        self.store = store
        store.ensure()
        self.flush_interval_s = flush_interval_s
        self.reread_after_s = reread_after_s
        self._clock = clock
        self._known: collections.OrderedDict[str, _Known] = collections.OrderedDict()
        #: Calls counted here and not yet written (deltas, added to the stored row).
        self._pending: dict[str, RunUsage] = {}
        #: Runs whose function ended: written without waiting for the interval.
        self._urgent = False
        self._writing = False  # deltas taken from ``_pending`` and not committed yet
        self._closed = False
        self._calls_since_prune = 0
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        # Held from taking the pending deltas to committing them, and around every read of
        # the store: a read sees each delta either in the store or still pending, never in
        # neither (counted short) nor in both (counted twice).
        self._io = threading.Lock()
        self._writer = threading.Thread(target=self._write_behind, name="run-usage", daemon=True)
        self._writer.start()

    # --- RunUsageLedger ------------------------------------------------------------------

    def get(self, run_id: str) -> RunUsage:
        with self._lock:
            known = self._known.get(run_id)
            if known is not None and self._clock() - known.read_at <= self.reread_after_s:
                self._known.move_to_end(run_id)
                return dataclasses.replace(known.usage)
        with self._io:
            stored = self.store.read(lambda conn: _read(conn, run_id))
            return self._remember(run_id, stored)

    def get_new(self, run_id: str) -> RunUsage:
        # A run's first call: nothing to read (what this process counted is still added).
        with self._lock:
            if run_id in self._known:
                self._known.move_to_end(run_id)
                return dataclasses.replace(self._known[run_id].usage)
        return self._remember(run_id, RunUsage())

    def add_call(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._count(run_id, wall_seconds, cpu_seconds)
        if closed:  # after shutdown: nobody will write it behind
            self.store.write(lambda conn: _add(conn, run_id, _call(wall_seconds, cpu_seconds)))

    def add_events(self, run_id: str, count: int, cap: int) -> RunUsage | None:
        def write(conn: sa.Connection) -> tuple[RunUsage, bool]:
            used = _read(conn, run_id)
            with self._lock:
                pending = self._pending.get(run_id)
            if pending is not None:
                used = _plus(used, pending)
            if used.events + count > cap:
                return used, False
            _add(conn, run_id, RunUsage(events=count))
            used.events += count
            return used, True

        with self._io:
            used, counted = self.store.write(write)
            with self._lock:
                self._known[run_id] = _Known(dataclasses.replace(used), self._clock())
                self._forget_oldest()
        return None if counted else used

    # --- write-behind --------------------------------------------------------------------

    def finish(self, run_id: str) -> None:
        """The run's function ended (returned or failed): write its usage now."""
        with self._lock:
            if run_id in self._pending:
                self._urgent = True
                self._work.notify_all()

    def flush(self) -> None:
        """Write every pending delta now (in the caller's thread)."""
        with self._io:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._urgent = False
                self._writing = bool(pending)
            if not pending:
                return
            now = time.time()
            rows = [
                {"run_id": run_id, **dataclasses.asdict(delta), "updated_at": now}
                for run_id, delta in sorted(pending.items())  # one lock order across replicas
            ]
            try:
                self.store.write(lambda conn: upsert_many(conn, usage_table, rows, ["run_id"],
                                                          add=_COUNTERS, replace=["updated_at"]))  # fmt: skip
            except Exception:
                with self._lock:  # kept, and tried again with the next flush
                    for run_id, delta in pending.items():
                        self._pending[run_id] = _plus(delta, self._pending.get(run_id, RunUsage()))
                    self._writing = False
                raise
            self._calls_since_prune += sum(d.calls for d in pending.values())
            with self._lock:
                self._writing = False
                self._work.notify_all()  # ``written`` waits for this
        if self._calls_since_prune >= PRUNE_EVERY_CALLS:
            self._calls_since_prune = 0
            self.prune(time.time() - STORED_USAGE_TTL_S)

    def written(self, timeout: float) -> bool:
        """Wait until no delta is pending (False if some still is after ``timeout``)."""
        with self._lock:
            return self._work.wait_for(lambda: not self._pending and not self._writing, timeout)

    def close(self) -> None:
        """Write what is pending and stop the writer (a graceful shutdown forgets nothing)."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
        self._writer.join()
        self.flush()

    def prune(self, idle_since: float) -> int:
        """Delete the usage of runs without a call since ``idle_since``; how many."""
        stale = usage_table.delete().where(usage_table.c.updated_at < idle_since)
        return int(self.store.write(lambda conn: conn.execute(stale).rowcount))

    def _write_behind(self) -> None:
        while True:
            with self._lock:
                self._work.wait_for(lambda: bool(self._pending) or self._closed)
                if self._closed:
                    return
                # Deltas gather for the interval, unless a run ended or the process stops.
                self._work.wait_for(lambda: self._urgent or self._closed, self.flush_interval_s)
            try:
                self.flush()
            except Exception:  # the store is down: the deltas stay pending, tried again
                log.exception("writing run budgets' usage failed; retrying")
                with self._lock:
                    self._work.wait_for(lambda: self._closed, self.flush_interval_s)

    # --- memory --------------------------------------------------------------------------

    def _remember(self, run_id: str, stored: RunUsage) -> RunUsage:
        with self._lock:
            pending = self._pending.get(run_id)
            usage = stored if pending is None else _plus(stored, pending)
            self._known[run_id] = _Known(usage, self._clock())
            self._forget_oldest()
            return dataclasses.replace(usage)

    def _count(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None:
        for usage in (self._pending.setdefault(run_id, RunUsage()), self._known_usage(run_id)):
            if usage is not None:
                usage.calls += 1
                usage.wall_seconds += wall_seconds
                usage.cpu_seconds += cpu_seconds
        if len(self._pending) == 1:
            self._work.notify_all()  # the first pending delta starts the interval

    def _known_usage(self, run_id: str) -> RunUsage | None:
        known = self._known.get(run_id)
        return None if known is None else known.usage

    def _forget_oldest(self) -> None:
        while len(self._known) > MAX_TRACKED_RUNS:
            self._known.popitem(last=False)


_COUNTERS = ["calls", "wall_seconds", "cpu_seconds", "events"]


def _call(wall_seconds: float, cpu_seconds: float) -> RunUsage:
    return RunUsage(calls=1, wall_seconds=wall_seconds, cpu_seconds=cpu_seconds)


def _plus(a: RunUsage, b: RunUsage) -> RunUsage:
    return RunUsage(
        calls=a.calls + b.calls,
        wall_seconds=a.wall_seconds + b.wall_seconds,
        cpu_seconds=a.cpu_seconds + b.cpu_seconds,
        events=a.events + b.events,
    )


def _read(conn: sa.Connection, run_id: str) -> RunUsage:
    query = sa.select(
        usage_table.c.calls,
        usage_table.c.wall_seconds,
        usage_table.c.cpu_seconds,
        usage_table.c.events,
    ).where(usage_table.c.run_id == run_id)
    row = conn.execute(query).first()
    return RunUsage() if row is None else RunUsage(*row)


def _add(conn: sa.Connection, run_id: str, delta: RunUsage) -> None:
    row = {"run_id": run_id, **dataclasses.asdict(delta), "updated_at": time.time()}
    upsert(conn, usage_table, row, ["run_id"], add=_COUNTERS, replace=["updated_at"])
