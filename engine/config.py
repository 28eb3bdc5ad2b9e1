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
    max_in_flight: int = 1000
    call_timeout_s: float = 7200.0
    cron_grace_s: float = 300.0
    sync_retry_s: float = 5.0

    @property
    def server_kind(self) -> str:
        return "cloud" if self.signing_keys else "dev"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"
