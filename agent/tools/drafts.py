"""Skill sources the agent wrote, kept so a later tool call can test or read them.

When the sidecar is down, ``write_skill`` only validates; the draft stays here so
``test_skill`` can still dry-run it and the person can find it. ``agent.store`` implements
this in SQLite; ``MemoryDrafts`` is the in-process double.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Drafts(Protocol):
    def put_draft(self, skill_id: str, source: str) -> None: ...

    def get_draft(self, skill_id: str) -> str | None: ...

    def draft_ids(self) -> list[str]: ...


class MemoryDrafts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drafts: dict[str, str] = {}

    def put_draft(self, skill_id: str, source: str) -> None:
        with self._lock:
            self._drafts[skill_id] = source

    def get_draft(self, skill_id: str) -> str | None:
        with self._lock:
            return self._drafts.get(skill_id)

    def draft_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._drafts)
