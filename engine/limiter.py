"""Step-level concurrency: at most `limit` SDK calls in flight per key.

Waiting calls are admitted in priority order, then FIFO. Sleeping, waiting and
invoking runs hold nothing; only calls in flight count (protocol section 5).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict

Keys = list[tuple[str, int]]


class Limiter:
    def __init__(self, global_limit: int) -> None:
        self._global_limit = global_limit
        self._in_flight = 0
        self._per_key: defaultdict[str, int] = defaultdict(int)
        self._waiting: list[tuple[float, int, Keys, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _fits(self, keys: Keys) -> bool:
        if self._in_flight >= self._global_limit:
            return False
        return all(self._per_key[k] < limit for k, limit in keys)

    def _take(self, keys: Keys) -> None:
        self._in_flight += 1
        for k, _ in keys:
            self._per_key[k] += 1

    async def acquire(self, keys: Keys, priority: int = 0) -> None:
        if not self._waiting and self._fits(keys):
            self._take(keys)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop_time = asyncio.get_running_loop().time()
        heapq.heappush(self._waiting, (loop_time - priority, next(self._seq), keys, fut))
        self._admit()
        await fut

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
        keep = []
        while self._waiting and self._in_flight < self._global_limit:
            entry = heapq.heappop(self._waiting)
            keys, fut = entry[2], entry[3]
            if fut.done():
                continue
            if self._fits(keys):
                self._take(keys)
                fut.set_result(None)
            else:
                keep.append(entry)
        for entry in keep:
            heapq.heappush(self._waiting, entry)
