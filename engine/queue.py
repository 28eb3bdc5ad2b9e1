"""Queue items: every timed or pending piece of work is one row in the `queue` table.

Kinds:
- `call`: an HTTP call to the SDK (`step_id` = "step" for discovery, else a hashed id).
- `wake`: a sleep ends; the step's memo becomes null.
- `resume`: a step's memo was saved by someone else (event, child run); continue the run.
- `wait_timeout`: a wait_for_event or invoke expires.
- `debounce`, `batch`: flush a debounced event or an event batch into a run.
- `cron`: a scheduled tick of a function.
- `ai`: a `step.ai.infer` request to a model provider, made by the engine (ai_gateway.py).
- `run_timeout`: `timeouts.start` / `timeouts.finish` of a run passed.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
from collections.abc import Iterator
from typing import Any

from . import jsonio

DISCOVERY = "step"


@dataclasses.dataclass(slots=True)
class QueueItem:
    id: int
    run_id: str | None
    kind: str
    step_id: str | None
    attempt: int
    due_at: int
    data: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> QueueItem:
        id_, run_id, kind, step_id, attempt, due_at, data = row
        return cls(
            id_, run_id, kind, step_id, attempt, due_at, jsonio.loads(data) if data else None
        )


SELECT_COLUMNS = "id, run_id, kind, step_id, attempt, due_at, data"


class ItemIds:
    """Queue item ids, allocated in memory so both threads can name items before commit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM queue").fetchone()
        self._next: Iterator[int] = itertools.count(int(top) + 1)

    def next(self) -> int:
        return next(self._next)


def insert(conn: sqlite3.Connection, item: QueueItem, dedupe: str | None = None) -> None:
    if dedupe is not None:
        conn.execute("DELETE FROM queue WHERE dedupe = ?", (dedupe,))
    conn.execute(
        "INSERT INTO queue(id, run_id, kind, step_id, attempt, due_at, data, dedupe)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.id,
            item.run_id,
            item.kind,
            item.step_id,
            item.attempt,
            item.due_at,
            jsonio.dumps(item.data) if item.data is not None else None,
            dedupe,
        ),
    )


def park(conn: sqlite3.Connection, item: QueueItem, error: str, failures: int, now: int) -> None:
    """Move an item that keeps failing inside the engine out of the queue, keeping its error.

    The row stays in `parked` (with everything needed to put it back) and shows on its run.
    """
    conn.execute(
        "INSERT OR REPLACE INTO parked(id, run_id, kind, step_id, attempt, data, error,"
        " failures, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.id,
            item.run_id,
            item.kind,
            item.step_id,
            item.attempt,
            jsonio.dumps(item.data) if item.data is not None else None,
            error,
            failures,
            now,
        ),
    )
    conn.execute("DELETE FROM queue WHERE id = ?", (item.id,))


def take(conn: sqlite3.Connection, item_id: int) -> bool:
    """Delete an item; False when it was already gone (stale timer, cancelled run)."""
    return conn.execute("DELETE FROM queue WHERE id = ?", (item_id,)).rowcount == 1
