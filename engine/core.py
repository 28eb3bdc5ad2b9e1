"""The engine: wires the store, the registry, the executor and sync together.

The HTTP layer (`engine.api`) turns requests into calls on this class and nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from . import jsonio
from .backoff import Backoff
from .calls import Caller
from .config import EngineConfig
from .events import MAX_EVENT_BYTES, MAX_EVENTS_PER_REQUEST, EventError, normalise
from .executor import Executor
from .gateway import Gateway
from .ids import seeded_ulids
from .limiter import Limiter
from .queue import ItemIds
from .registry import Snapshot
from .signing import sign_body
from .store import Database
from .sync import SyncError, apply_sync, load_functions, parse_register, record_failure
from .transitions import Tx

log = logging.getLogger("loopwright.engine")


class IngestError(Exception):
    def __init__(self, message: str, accepted: list[str], status: int = 400) -> None:
        super().__init__(message)
        self.accepted, self.status = accepted, status


class Engine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.db = Database(config.db_path, config.durability)
        self.ids = self.db.read_blocking(ItemIds)
        self.snapshot = Snapshot(self.db.read_blocking(load_functions))
        self.gateway = Gateway(lambda raw: self.register(raw, None), config.call_timeout_s)
        self.caller = Caller(
            config.signing_keys[0] if config.signing_keys else None,
            config.call_timeout_s,
            self.gateway,
        )
        self.executor = Executor(
            self.db,
            lambda: self.snapshot,
            self.ids,
            self.caller,
            Limiter(config.max_in_flight),
            Backoff(config.retry_backoff),
            int(config.cron_grace_s * 1000),
        )
        self.started_at = time.time()
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.caller.start()
        self.executor.scheduler.start()  # loads every queue item that is already due
        for url in self.config.sdk_urls:
            self._spawn(self._sync_until_reachable(url))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        self.executor.scheduler.stop()
        await self.executor.drain()
        await self.caller.close()
        self.db.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- events ----------------------------------------------------------------------

    async def ingest(self, body: Any, seed: str | None) -> list[str]:
        """Store events and start their runs; returns internal ids in request order."""
        raw_events = body if isinstance(body, list) else [body]
        if len(raw_events) > MAX_EVENTS_PER_REQUEST:
            raise IngestError(f"at most {MAX_EVENTS_PER_REQUEST} events per request", [])
        ids = seeded_ulids(seed, len(raw_events))
        now = int(time.time() * 1000)
        accepted: list[tuple[dict[str, Any], str]] = []
        error: str | None = None
        for raw, internal_id in zip(raw_events, ids, strict=True):
            try:
                if len(jsonio.dumpb(raw)) > MAX_EVENT_BYTES:
                    raise EventError("an event may be at most 3 MiB")
                accepted.append((normalise(raw, internal_id, now), internal_id))
            except EventError as exc:
                error = f"event {len(accepted)}: {exc}"
                break

        def job(tx: Tx) -> None:
            for event, internal_id in accepted:
                tx.ingest(event, internal_id)

        if accepted:
            await self.executor.transact(job)
        if error is not None:
            raise IngestError(error, [i for _, i in accepted])
        return [i for _, i in accepted]

    # -- sync ------------------------------------------------------------------------

    async def register(self, raw: bytes, expected_kind: str | None) -> tuple[int, dict[str, Any]]:
        try:
            req = parse_register(raw, expected_kind, self.config.server_kind)
            body, changes = await self.executor.transact_value(lambda tx: apply_sync(tx, req))
        except SyncError as exc:
            err = exc
            await self.executor.transact(lambda tx: record_failure(tx, err))
            log.warning("sync refused: %s", err)
            return err.status, {"error": str(err), "status": err.status, "data": None}
        if changes:
            self.snapshot = self.snapshot.replace(changes)
        return 200, body

    async def sync_url(self, url: str) -> dict[str, Any]:
        """PUT the app's serve URL, as the Dev Server does, and report what the sync gave."""
        body = jsonio.dumpb({"url": url})
        headers = {
            "content-type": "application/json",
            "X-Inngest-Server-Kind": self.config.server_kind,
        }
        if self.config.signing_keys:
            headers["X-Inngest-Signature"] = sign_body(body, self.config.signing_keys[0])
        try:
            async with self.caller.session.put(url, data=body, headers=headers) as resp:
                text = await resp.read()
                answer = jsonio.loads(text) if text else {}
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            message = f"could not sync {url}: {type(exc).__name__}: {exc}"
            err = SyncError(message)
            await self.executor.transact(lambda tx: record_failure(tx, err, url))
            return {"ok": False, "modified": False, "error": message}
        if not isinstance(answer, dict):
            return {
                "ok": False,
                "modified": False,
                "error": f"{url} answered {resp.status} with no JSON object",
            }
        if "x-inngest-sdk" not in resp.headers:
            return {
                "ok": False,
                "modified": False,
                "error": f"{url} answered {resp.status} but is not an Inngest SDK endpoint",
            }
        # Python answers {"ok": true, ...}; the TypeScript SDK {"message", "modified"} with a 200.
        ok = bool(answer.get("ok", 200 <= resp.status < 300)) and not answer.get("error")
        return {
            "ok": ok,
            "modified": bool(answer.get("modified")),
            "error": answer.get("error"),
            "app_id": answer.get("app_id"),
            "sync_id": answer.get("sync_id"),
        }

    async def _sync_until_reachable(self, url: str) -> None:
        while True:
            result = await self.sync_url(url)
            if result["ok"] or "could not sync" not in str(result.get("error")):
                if not result["ok"]:
                    log.error("sync of %s failed: %s", url, result["error"])
                return
            await asyncio.sleep(self.config.sync_retry_s)
