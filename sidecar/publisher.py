"""Publish a registry change: build the function set it gives, swap it in, sync, then commit.

    change ─▶ registry.preview (apply, build the catalog, roll back)
           ─▶ swap in the new FunctionSet ─▶ sync with the engine
           ─▶ ok: apply the change for real      failed: swap the previous set back

So the registry never says "active" before the engine has the function, and a refused (or
unreachable) sync leaves everything as it was: the engine keeps the previous registration,
the previous set is served again, the registry is untouched. One publication at a time (an
asyncio lock), since each builds on the state the previous one committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .app import FunctionSet, SkillsApp
from .catalog import Catalog, build_catalog
from .registry import Registry
from .sync import Syncer, SyncResult

log = logging.getLogger("loopwright.sidecar.publish")


class Publisher:
    def __init__(
        self,
        registry: Registry,
        app: SkillsApp,
        build: Callable[[Catalog], FunctionSet],
        syncer: Syncer,
    ) -> None:
        self.registry = registry
        self.app = app
        self.build = build
        self.syncer = syncer
        self.last: SyncResult | None = None
        self.last_at: float | None = None
        self.lock = asyncio.Lock()

    async def publish(
        self, change: Callable[[], object] | None = None, *, force: bool = False
    ) -> SyncResult:
        """Publish the registry as ``change`` (a registry write, run twice) would leave it."""
        async with self.lock:
            if change is None:
                catalog = build_catalog(self.registry)
            else:
                with self.registry.preview():
                    change()
                    catalog = build_catalog(self.registry)
            previous = self.app.current
            unchanged = previous.catalog.fingerprint() == catalog.fingerprint()
            if unchanged and not force and self.last is not None and self.last.ok:
                result = SyncResult(ok=True, modified=False)
            else:
                self.app.swap(self.build(catalog))
                result = await self.syncer.sync()
                self.last, self.last_at = result, time.time()
            if not result.ok:
                log.error("sync failed; the previous function set stays: %s", result.error)
                self.app.swap(previous)
            elif change is not None:
                change()
            return result

    async def publish_until_synced(self, interval: float = 2.0) -> SyncResult:
        """At start-up: retry until the engine takes the sync (it may start after us)."""
        while True:
            result = await self.publish(force=True)
            if result.ok or "unreachable" not in (result.error or ""):
                return result
            await asyncio.sleep(interval)
