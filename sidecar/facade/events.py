"""Events as skill code sees them: read-only views over plain JSON, never SDK objects.

Event names follow Inngest's ``prefix/name`` convention. Names under ``inngest/`` belong to the
engine and names under ``loopwright/`` to the platform: a skill may wait for them, but never
send them (that would let it impersonate the engine or another app) nor, for ``inngest/``,
trigger on them (``on_failure`` exists for that).
"""

from __future__ import annotations

import copy
import re

from .errors import StepMisuse
from .exposure import Exposed
from .payload import JSON

EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)+$")
MAX_EVENT_NAME = 128
#: Prefixes no skill may send.
RESERVED_EMIT_PREFIXES = ("inngest/", "loopwright/")
#: Prefixes no skill may trigger on.
RESERVED_TRIGGER_PREFIXES = ("inngest/",)
#: The key of sent event data where the platform writes the sender's identity
#: (``{"skill", "version", "run_id"}``); a skill cannot set it, a receiver can trust it.
SOURCE_KEY = "loopwright"


def event_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid event name, or None."""
    if not isinstance(name, str):
        return "an event name must be a string"
    if len(name) > MAX_EVENT_NAME:
        return f"an event name is at most {MAX_EVENT_NAME} characters"
    if not EVENT_NAME_PATTERN.match(name):
        return f"event name {name!r} must look like 'prefix/name' (letters, digits, _ . -)"
    return None


def check_event_name(name: object, what: str) -> None:
    problem = event_name_problem(name)
    if problem:
        raise StepMisuse(f"{what}: {problem}")


class EventView(Exposed):
    """``ctx.event``: ``name``, ``data`` (a private copy), ``id`` and ``ts`` (ms)."""

    __slots__ = ("data", "id", "name", "ts")
    public = frozenset({"name", "data", "id", "ts"})

    def __init__(self, name: str, data: dict[str, JSON], id: str, ts: int) -> None:
        self.name = name
        self.data = data
        self.id = id
        self.ts = ts

    @classmethod
    def from_json(cls, raw: JSON) -> EventView:
        if not isinstance(raw, dict):
            raise StepMisuse("an event must be a JSON object")
        data = raw.get("data") or {}
        return cls(
            name=str(raw.get("name", "")),
            # A deep copy: mutations by one run never leak into the memoized original.
            data=copy.deepcopy(data) if isinstance(data, dict) else {},
            id=str(raw.get("id") or ""),
            ts=int(raw.get("ts") or 0),
        )

    def to_json(self) -> JSON:
        return {"name": self.name, "data": copy.deepcopy(self.data), "id": self.id, "ts": self.ts}
