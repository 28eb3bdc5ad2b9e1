"""The live runs feed: one poller shared by every open runs page, pushing what changed.

It polls the run source only while someone watches (every ``poll_s``), keeps the newest runs
it saw, and hands each subscriber the runs that are new or changed since the last poll (and,
on subscribing, the current snapshot, so nothing that changed between rendering the page and
opening the stream is missed: the page replaces rows by id, so repeats are harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from .parts import PartDown
from .runs_source import RunRow, RunSource

log = logging.getLogger("loopwright.console.live")
WINDOW = 50


class RunsFeed:
    def __init__(self, source: RunSource, poll_s: float) -> None:
        self.source = source
        self.poll_s = poll_s
        self.snapshot: dict[str, RunRow] = {}
        self.down: str | None = None
        self._queues: set[asyncio.Queue[list[RunRow] | str]] = set()
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[list[RunRow] | str]]:
        queue: asyncio.Queue[list[RunRow] | str] = asyncio.Queue()
        self._queues.add(queue)
        if self.snapshot:
            queue.put_nowait(list(self.snapshot.values()))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def _publish(self, item: list[RunRow] | str) -> None:
        for queue in self._queues:
            queue.put_nowait(item)

    async def _poll(self) -> None:
        while self._queues:
            try:
                rows = await self.source.runs(limit=WINDOW)
            except PartDown as err:
                if self.down != str(err):
                    self.down = str(err)
                    self._publish(str(err))
            except Exception:  # keep the feed alive; the page shows the last good rows
                log.exception("live runs poll failed")
            else:
                self.down = None
                changed = [r for r in rows if self.snapshot.get(r.run_id) != r]
                self.snapshot = {r.run_id: r for r in rows}
                if changed:
                    self._publish(list(reversed(changed)))  # oldest first: prepend in order
            await asyncio.sleep(self.poll_s)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
