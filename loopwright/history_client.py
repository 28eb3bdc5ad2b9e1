"""The terminal views' engine access: the platform's one engine client, under the names the
views have always used (``History``, ``HistoryError``, ``engine_url``)."""

from __future__ import annotations

import os

from .engine_client import EngineClient, EngineError, EngineTarget
from .engine_client.target import EMBEDDED_URL

DEFAULT_ENGINE = EMBEDDED_URL
HistoryError = EngineError


def engine_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("LOOPWRIGHT_ENGINE_URL") or DEFAULT_ENGINE).rstrip("/")


class History(EngineClient):
    def __init__(self, base: str, signing_key: str | None = None) -> None:
        super().__init__(EngineTarget.from_env(url=base, signing_key=signing_key), timeout_s=10)
        self.base = base
