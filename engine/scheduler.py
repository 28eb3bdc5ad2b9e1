"""Push-based dispatch of queue items, with no polling tick.

Items due now are handed to the dispatcher at once. Items due within `horizon`
wait in an in-memory heap under a single timer. Items due later stay only in
SQLite; the scheduler remembers the earliest of them and loads them into the heap
when they come within the horizon. That keeps a million sleeping runs on disk.
"""

from __future__ import annotations

import asyncio
import heapq
import sqlite3
from collections.abc import Callable

from .clock import now_ms
from .queue import SELECT_COLUMNS, QueueItem
from .store import Database

_FAR = float("inf")
# The kernel lets a long poll timeout expire late by 0.1% of its length (epoll's timer slack:
# a 60 s timer fires ~60 ms late). So a wake further off than this is reached in two legs: a
# timer that ends this far before it, then a short, precise one.
_FINAL_LEG_MS = 500


class Scheduler:
    def __init__(
        self, db: Database, dispatch: Callable[[QueueItem], None], horizon_ms: int = 60_000
    ) -> None:
        self._db = db
        self._dispatch = dispatch
        self._horizon = horizon_ms
        self._heap: list[tuple[int, int, QueueItem]] = []
        self._claimed: set[int] = set()
        self._db_next: float = _FAR
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float = _FAR
        self._loading = False

    @property
    def claimed(self) -> int:
        return len(self._claimed)

    def start(self) -> None:
        self._db_next = 0
        self._arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def schedule(self, item: QueueItem) -> None:
        if item.id in self._claimed:
            return
        now = now_ms()
        if item.due_at <= now:
            self._claimed.add(item.id)
            self._dispatch(item)
        elif item.due_at <= now + self._horizon:
            self._claimed.add(item.id)
            heapq.heappush(self._heap, (item.due_at, item.id, item))
            self._arm()
        else:
            self._db_next = min(self._db_next, item.due_at)
            self._arm()

    def release(self, item_id: int) -> None:
        """The item left the queue (done, or rescheduled under the same id)."""
        self._claimed.discard(item_id)

    def _next_wake(self) -> float:
        heap_next = self._heap[0][0] if self._heap else _FAR
        return min(heap_next, self._db_next - self._horizon)

    def _arm(self) -> None:
        wake = self._next_wake()
        if wake == _FAR or wake >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        delay_ms = max(0, wake - now_ms())
        if delay_ms > 2 * _FINAL_LEG_MS:
            delay_ms -= _FINAL_LEG_MS  # _fire finds nothing due yet and arms the final leg
        self._timer_at = wake
        self._timer = loop.call_later(delay_ms / 1000, self._fire)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, _FAR
        now = now_ms()
        while self._heap and self._heap[0][0] <= now:
            _, _, item = heapq.heappop(self._heap)
            self._dispatch(item)
        if self._db_next - self._horizon <= now and not self._loading:
            self._loading = True
            asyncio.get_running_loop().create_task(self._load())
        self._arm()

    async def _load(self) -> None:
        try:
            limit = now_ms() + self._horizon
            rows, nxt = await self._db.read(lambda conn: _due_rows(conn, limit))
        finally:
            self._loading = False
        self._db_next = nxt if nxt is not None else _FAR
        for row in rows:
            item = QueueItem.from_row(row)
            if item.id in self._claimed:
                continue
            self._claimed.add(item.id)
            heapq.heappush(self._heap, (item.due_at, item.id, item))
        self._fire()


def _due_rows(conn: sqlite3.Connection, limit: int) -> tuple[list[tuple[object, ...]], int | None]:
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM queue WHERE due_at <= ? ORDER BY due_at", (limit,)
    ).fetchall()
    (nxt,) = conn.execute("SELECT MIN(due_at) FROM queue WHERE due_at > ?", (limit,)).fetchone()
    return rows, nxt
