"""Retention: the ledger forgets runs older than its horizon, a small batch at a time, so
pruning never holds the store's writer for long (rollups are kept; they are tiny)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

from .writer import LedgerWriter

log = logging.getLogger("loopwright.ledger")

RETENTION_ENV = "LOOPWRIGHT_LEDGER_RETENTION_DAYS"
DEFAULT_DAYS = 90.0


def retention_days(explicit: float | None = None) -> float:
    if explicit is not None:
        return explicit
    raw = os.environ.get(RETENTION_ENV)
    try:
        days = float(raw) if raw else DEFAULT_DAYS
    except ValueError:
        raise ValueError(f"{RETENTION_ENV}={raw!r}: give a number of days, like 90") from None
    if days <= 0:
        raise ValueError(f"{RETENTION_ENV}={raw!r}: must be more than 0 days")
    return days


class Retention:
    def __init__(
        self,
        writer: LedgerWriter,
        days: float,
        *,
        batch: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.writer = writer
        self.days = days
        self.batch = batch
        self.clock = clock

    def prune(self, max_batches: int = 20) -> int:
        """Delete up to ``max_batches`` batches of expired runs; the number deleted."""
        cutoff = self.clock() - self.days * 86_400
        total = 0
        for _ in range(max_batches):
            deleted = self.writer.prune(older_than=cutoff, batch=self.batch)
            total += deleted
            if deleted < self.batch:
                break
        return total

    async def run(self, stop: asyncio.Event, every_s: float = 600.0) -> None:
        """Prune now and then every ``every_s`` until ``stop`` is set; errors are logged."""
        while not stop.is_set():
            try:
                deleted = await asyncio.to_thread(self.prune)
                if deleted:
                    log.info("ledger: pruned %d runs older than %g days", deleted, self.days)
            except Exception as err:
                log.warning("ledger: pruning failed (will retry): %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
