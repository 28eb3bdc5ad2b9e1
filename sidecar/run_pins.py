"""Which version of its skill each run is pinned to, kept in the platform store's ``run_pins``.

A run runs the version that was active when it made its first call, on every later call too,
so a new version, a rollback or a removal never rewrites a run in flight. The first call
inserts the pin (insert-if-absent, reading the row back when it exists: two replicas racing
on one run's first call agree on the row that won). Pins never change, so every pin this
process has seen is answered from memory: a call costs one store write only when it is the
first this process serves of its run (the run's first call, or one after a restart or on
another replica, which then reads the existing pin back in the same transaction).

This replaced a first step per run (``loopwright-version``, memoized by the engine), which cost
every run one more SDK call; runs that carry that memo are still honoured (``Runner``).

What the store must keep: a pin outlives its run's calls by at most ``PIN_TTL_S`` (a run still
going after that, or a store that lost its pins, is pinned again to the active version at its
next call, with a warning in the sidecar's log).
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time

import sqlalchemy as sa

from loopwright.store import Store, insert_ignore, metadata

#: Pins older than this are deleted (Inngest lets a run sleep up to a year).
PIN_TTL_S = 400 * 24 * 3600
#: Every this many new pins, the expired ones are deleted.
PRUNE_EVERY_PINS = 1000
#: Pins remembered in memory at once (the least recently used are forgotten first).
MAX_REMEMBERED = 10_000

pins_table = sa.Table(
    "run_pins",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("skill_id", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("pinned_at", sa.Float, nullable=False),
    sa.Index("run_pins_pinned_at", "pinned_at"),
)


@dataclasses.dataclass(frozen=True)
class Pin:
    version: int
    #: This call made the pin: the run's first call (or its pin had been lost).
    new: bool


class RunPins:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure()
        self._known: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._new_pins = 0

    def pin(self, run_id: str, skill_id: str, active: int) -> Pin:
        """The run's version: its pin, or ``active`` when this is its first call."""
        with self._lock:
            known = self._known.get(run_id)
            if known is not None:
                self._known.move_to_end(run_id)
                return Pin(known, new=False)

        def write(conn: sa.Connection) -> Pin:
            row = {"run_id": run_id, "skill_id": skill_id, "version": active,
                   "pinned_at": time.time()}  # fmt: skip
            if insert_ignore(conn, pins_table, row):
                return Pin(active, new=True)
            query = sa.select(pins_table.c.version).where(pins_table.c.run_id == run_id)
            return Pin(int(conn.execute(query).scalar_one()), new=False)

        pin = self.store.write(write)
        with self._lock:
            self._known[run_id] = pin.version
            while len(self._known) > MAX_REMEMBERED:
                self._known.popitem(last=False)
            self._new_pins += pin.new
            prune = self._new_pins >= PRUNE_EVERY_PINS
            if prune:
                self._new_pins = 0
        if prune:
            self.prune(time.time() - PIN_TTL_S)
        return pin

    def prune(self, older_than: float) -> int:
        """Delete the pins made before ``older_than``; how many."""
        stale = pins_table.delete().where(pins_table.c.pinned_at < older_than)
        return int(self.store.write(lambda conn: conn.execute(stale).rowcount))
