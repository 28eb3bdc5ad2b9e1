"""Retry delays: Inngest's table with jitter by default, or a flat delay (tests, dev)."""

from __future__ import annotations

import random

from .durations import parse_duration

_TABLE_S = [15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200]


class Backoff:
    def __init__(self, spec: str = "inngest") -> None:
        """`spec` is `inngest` (the default table) or a flat duration such as `1s`."""
        self.spec = spec
        self._flat = None if spec == "inngest" else parse_duration(spec)

    def delay_ms(self, attempt: int) -> int:
        """Delay before retry number `attempt` (1 for the first retry)."""
        if self._flat is not None:
            return int(self._flat * 1000)
        base = _TABLE_S[min(attempt - 1, len(_TABLE_S) - 1)]
        return int((base + random.uniform(0, 30)) * 1000)
