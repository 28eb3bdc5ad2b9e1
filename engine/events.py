"""Event normalisation and name matching (protocol sections 3.3 and 3.4)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 5000
_MIN_TS = 315532800000  # 1980-01-01
_MAX_TS = 4102444800000  # 2100-01-01

FUNCTION_FINISHED = "inngest/function.finished"
FUNCTION_FAILED = "inngest/function.failed"
FUNCTION_CANCELLED = "inngest/function.cancelled"
FUNCTION_INVOKED = "inngest/function.invoked"
SCHEDULED_TIMER = "inngest/scheduled.timer"

_EVENT_FIELDS = {"name", "data", "id", "ts", "user", "v"}


class EventError(ValueError):
    """A user event that cannot be accepted; the message says what to change."""


def normalise(raw: Any, internal_id: str, now_ms: int | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise EventError("each event must be a JSON object with at least a 'name'")
    unknown = sorted(set(raw) - _EVENT_FIELDS)
    if unknown:
        raise EventError(f"unknown event field {unknown[0]!r}; allowed: {sorted(_EVENT_FIELDS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventError("event 'name' is required and must be a non-empty string")
    if len(name) > 255:
        raise EventError("event 'name' is longer than 255 characters")
    if name.lower().startswith("inngest/"):
        raise EventError("event name is reserved for internal use")
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventError("event 'data' must be a JSON object")
    data = {k: v for k, v in data.items() if k != "_inngest"}
    user = raw.get("user") or {}
    if not isinstance(user, dict):
        raise EventError("event 'user' must be a JSON object")
    ts = raw.get("ts") or 0
    if isinstance(ts, float) and ts.is_integer():
        ts = int(ts)
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise EventError("event 'ts' must be an integer number of milliseconds")
    if ts == 0:
        ts = now_ms if now_ms is not None else int(time.time() * 1000)
    if not _MIN_TS <= ts <= _MAX_TS:
        raise EventError("event 'ts' must be milliseconds between 1980 and 2100")
    event_id = raw.get("id") or internal_id
    if not isinstance(event_id, str):
        raise EventError("event 'id' must be a string")
    event: dict[str, Any] = {"name": name, "data": data, "id": event_id, "ts": ts, "user": user}
    if raw.get("v") is not None:
        event["v"] = str(raw["v"])
    return event


def internal_event(name: str, data: dict[str, Any], event_id: str, now_ms: int) -> dict[str, Any]:
    return {"name": name, "data": data, "id": event_id, "ts": now_ms, "user": {}}


def wildcard_keys(name: str) -> Iterable[str]:
    """Trigger names that match `name` besides itself: `a/b.c` → `a/*`, `a/b.*`."""
    for i, ch in enumerate(name):
        if ch in "/.":
            yield name[: i + 1] + "*"
