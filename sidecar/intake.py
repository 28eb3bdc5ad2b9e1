"""From "this file changed" to lifecycle calls: one task per skill, the latest content wins.

A change marks the skill dirty (a generation counter). The skill's task reads the file as it
is *now*, hands the content to ``Lifecycle.accept_file`` and, if the file changed again
meanwhile, reads it again. So a burst of writes is validated at most once per distinct
content that was still current when its turn came, a partial write is followed by its
complete version, and a version that was superseded while it validated is never made live.
Skills are processed independently: one slow or broken file holds up no other.

Writers that want to know the outcome (the HTTP API) register an ``Intent`` and a waiter for
the content hash they are about to write; the waiter resolves when that content is processed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from pathlib import Path

from .files import read_skill_file, skill_id_for
from .lifecycle import Intent, Lifecycle, Outcome, content_hash

log = logging.getLogger("loopwright.sidecar.intake")


class Intake:
    def __init__(self, lifecycle: Lifecycle, skills_dir: Path) -> None:
        self.lifecycle = lifecycle
        self.skills_dir = skills_dir.resolve()
        self._generation: collections.Counter[str] = collections.Counter()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._intents: dict[tuple[str, str], Intent] = {}
        self._waiters: dict[tuple[str, str], list[tuple[int, asyncio.Future[Outcome]]]] = {}
        self._seq = 0
        #: File names that can never be skills, with the reason (shown by the API).
        self.invalid_files: dict[str, str] = {}

    def changed(self, path: Path) -> None:
        """Called by the watcher (on the event loop) for every changed skill file."""
        skill_id = skill_id_for(path.name)
        if skill_id is None:
            self.invalid_files[path.name] = "not a valid skill file name (see docs/SKILLS.md)"
            log.warning("ignoring %s: not a valid skill file name", path.name)
            return
        self._generation[skill_id] += 1
        if skill_id not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._drain(skill_id, path.name))
            self._tasks[skill_id] = task

    def expect(self, skill_id: str, source: str, intent: Intent) -> asyncio.Future[Outcome]:
        """Register who is writing ``source`` and get a future for its outcome.

        Call it right before writing the file, with no ``await`` in between: a read of the
        file that happens later then sees this content or a newer one.
        """
        key = (skill_id, content_hash(source))
        self._intents[key] = intent
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._waiters.setdefault(key, []).append((self._seq, future))
        return future

    def forget(self, skill_id: str, source: str, future: asyncio.Future[Outcome]) -> None:
        key = (skill_id, content_hash(source))
        waiters = [w for w in self._waiters.get(key, []) if w[1] is not future]
        if waiters:
            self._waiters[key] = waiters
        else:
            self._waiters.pop(key, None)
            self._intents.pop(key, None)

    async def idle(self) -> None:
        """Wait until every pending change has been processed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _drain(self, skill_id: str, filename: str) -> None:
        try:
            while True:
                generation = self._generation[skill_id]
                await self._process(skill_id, filename, generation)
                if self._generation[skill_id] == generation:
                    return
        finally:
            del self._tasks[skill_id]

    async def _process(self, skill_id: str, filename: str, generation: int) -> None:
        self._seq += 1
        read_at = self._seq
        source = read_skill_file(self.skills_dir / filename)
        key = (skill_id, content_hash(source)) if source is not None else None
        intent = self._intents.get(key) if key else None
        try:
            outcome = await self.lifecycle.accept_file(
                skill_id,
                filename,
                source,
                intent=intent,
                superseded=lambda: self._generation[skill_id] != generation,
            )
        except Exception as err:  # one bad file must never stop the others
            log.exception("processing %s failed", filename)
            self._resolve(key, error=err)
            return
        self.invalid_files.pop(filename, None)
        self._resolve(key, outcome=outcome)
        self._resolve_overwritten(skill_id, key, read_at)

    def _resolve(
        self,
        key: tuple[str, str] | None,
        *,
        outcome: Outcome | None = None,
        error: Exception | None = None,
    ) -> None:
        if key is None:
            return
        self._intents.pop(key, None)
        for _seq, future in self._waiters.pop(key, []):
            if future.done():
                continue
            if outcome is not None:
                future.set_result(outcome)
            else:
                future.set_exception(error or RuntimeError("processing failed"))

    def _resolve_overwritten(
        self, skill_id: str, read: tuple[str, str] | None, read_at: int
    ) -> None:
        """Writes that were overwritten before anyone read them will never be processed."""
        for key in [k for k in self._waiters if k[0] == skill_id and k != read]:
            stale = [w for w in self._waiters[key] if w[0] < read_at]
            if not stale:
                continue
            self._waiters[key] = [w for w in self._waiters[key] if w[0] >= read_at]
            if not self._waiters[key]:
                del self._waiters[key]
                self._intents.pop(key, None)
            note = "overwritten by a newer write before it was read"
            for _seq, future in stale:
                if not future.done():
                    future.set_result(Outcome(skill_id, None, "superseded", note=note))
