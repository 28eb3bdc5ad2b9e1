"""Step-level concurrency: at most `limit` SDK calls in flight per key.

Waiting calls are admitted in priority order, then FIFO. Sleeping, waiting and
invoking runs hold nothing; only calls in flight count (protocol section 5).

Waiters are grouped by their set of keys: waiters with the same keys fit or not together, so
when a group's first waiter does not fit the whole group is passed over at once. Admitting
costs the number of groups (distinct key sets: functions, concurrency key values), not the
number of waiters: 1,000 runs waiting on one function's concurrency limit do not make every
release scan 1,000 entries.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict

Keys = list[tuple[str, int]]
_Entry = tuple[float, int, asyncio.Future[None]]


class Limiter:
    def __init__(self, global_limit: int) -> None:
        self._global_limit = global_limit
        self._in_flight = 0
        self._per_key: defaultdict[str, int] = defaultdict(int)
        #: Waiters by their keys, each group a heap of (priority time, arrival, future).
        self._groups: dict[tuple[tuple[str, int], ...], list[_Entry]] = {}
        self._waiting = 0
        self._seq = itertools.count()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._waiting

    def _fits(self, keys: Keys | tuple[tuple[str, int], ...]) -> bool:
        if self._in_flight >= self._global_limit:
            return False
        return all(self._per_key[k] < limit for k, limit in keys)

    def _take(self, keys: Keys | tuple[tuple[str, int], ...]) -> None:
        self._in_flight += 1
        for k, _ in keys:
            self._per_key[k] += 1

    async def acquire(self, keys: Keys, priority: int = 0) -> None:
        if not self._waiting and self._fits(keys):
            self._take(keys)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        group = self._groups.setdefault(tuple(keys), [])
        heapq.heappush(group, (loop.time() - priority, next(self._seq), fut))
        self._waiting += 1
        self._admit()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # admitted as it was cancelled: give it back
                self.release(keys)
            raise

    def release(self, keys: Keys) -> None:
        self._in_flight -= 1
        for k, _ in keys:
            self._per_key[k] -= 1
            if self._per_key[k] <= 0:
                del self._per_key[k]
        self._admit()

    def _admit(self) -> None:
        """Admit every waiter that fits, in order; a blocked key does not block other keys."""
        if not self._waiting:
            return
        heads = []
        for keys, group in self._groups.items():
            self._drop_cancelled(group)
            if group:
                heads.append((group[0][0], group[0][1], keys))
        heapq.heapify(heads)
        while heads and self._in_flight < self._global_limit:
            _, _, keys = heapq.heappop(heads)
            if not self._fits(keys):
                continue  # every waiter of this group has the same keys: none fits
            group = self._groups[keys]
            _, _, fut = heapq.heappop(group)
            self._waiting -= 1
            self._take(keys)
            fut.set_result(None)
            self._drop_cancelled(group)
            if group:
                heapq.heappush(heads, (group[0][0], group[0][1], keys))
        for keys in [keys for keys, group in self._groups.items() if not group]:
            del self._groups[keys]

    def _drop_cancelled(self, group: list[_Entry]) -> None:
        while group and group[0][2].done():
            heapq.heappop(group)
            self._waiting -= 1
