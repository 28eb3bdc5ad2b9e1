"""Engine settings, read once and frozen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .store import Durability


@dataclasses.dataclass(frozen=True)
class EngineConfig:
    host: str = "127.0.0.1"
    port: int = 8288
    db_path: Path = Path("var/engine.db")
    sdk_urls: tuple[str, ...] = ()
    retry_backoff: str = "inngest"
    durability: Durability = Durability.NORMAL
    signing_keys: tuple[str, ...] = ()
    event_keys: tuple[str, ...] = ()
    # Like the Inngest Dev Server's 100 queue workers. More calls in flight than an SDK app can
    # serve at once only queue inside it: bench/throughput.py at 1,000 runs, official Python SDK
    # app, 100 vs 1,000 in flight: 1,489/1,311/1,104 vs 1,041/881/1,000 steps/s (interleaved).
    max_in_flight: int = 100
    call_timeout_s: float = 7200.0
    cron_grace_s: float = 300.0
    sync_retry_s: float = 5.0

    @property
    def server_kind(self) -> str:
        return "cloud" if self.signing_keys else "dev"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"
