"""Per-run budget usage kept in the platform store's ``run_usage`` table.

A sidecar restart, or another replica serving the run's next call, sees what the run spent.
Counters are added in one upsert, so concurrent calls never lose an addition; an event grant
is checked and counted in one transaction. (Outside ``sidecar/workers``: sandboxed workers
import that package and must not need a database library.)
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from loopwright.store import Store, metadata, upsert

from .workers.run_usage import RunUsage

#: Stored usage of runs without a call for this long is deleted (a run that sleeps longer
#: starts its budget again; calls, not sleeps, are what the budget counts).
STORED_USAGE_TTL_S = 14 * 24 * 3600
#: Every this many calls, ``StoredRunUsage`` deletes the usage of long-idle runs.
PRUNE_EVERY_CALLS = 1000

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


class StoredRunUsage:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure()
        self._calls = 0

    def get(self, run_id: str) -> RunUsage:
        return self.store.read(lambda conn: _read(conn, run_id))

    def add_call(self, run_id: str, wall_seconds: float, cpu_seconds: float) -> None:
        self._add(run_id, calls=1, wall_seconds=wall_seconds, cpu_seconds=cpu_seconds)
        self._calls += 1
        if self._calls % PRUNE_EVERY_CALLS == 0:
            self.prune(time.time() - STORED_USAGE_TTL_S)

    def add_events(self, run_id: str, count: int, cap: int) -> RunUsage | None:
        def write(conn: sa.Connection) -> RunUsage | None:
            used = _read(conn, run_id)
            if used.events + count > cap:
                return used
            _add(conn, run_id, events=count)
            return None

        return self.store.write(write)

    def prune(self, idle_since: float) -> int:
        """Delete the usage of runs without a call since ``idle_since``; how many."""
        stale = usage_table.delete().where(usage_table.c.updated_at < idle_since)
        return int(self.store.write(lambda conn: conn.execute(stale).rowcount))

    def _add(self, run_id: str, **counts: float) -> None:
        self.store.write(lambda conn: _add(conn, run_id, **counts))


def _read(conn: sa.Connection, run_id: str) -> RunUsage:
    query = sa.select(
        usage_table.c.calls,
        usage_table.c.wall_seconds,
        usage_table.c.cpu_seconds,
        usage_table.c.events,
    ).where(usage_table.c.run_id == run_id)
    row = conn.execute(query).first()
    return RunUsage() if row is None else RunUsage(*row)


def _add(conn: sa.Connection, run_id: str, **counts: float) -> None:
    row = {"calls": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0, "events": 0, **counts}
    upsert(
        conn,
        usage_table,
        {"run_id": run_id, **row, "updated_at": time.time()},
        ["run_id"],
        add=list(row),
        replace=["updated_at"],
    )
