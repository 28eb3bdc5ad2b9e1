"""The local inbox: the ``notify`` channel every platform has, a JSON-lines file.

Posting is idempotent per ``dedupe_key`` (run, step and call number, computed by the
sidecar's capability gate): a step retried after a crash finds its message already there and
gets the same answer, so nobody is notified twice.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sidecar.facade.errors import NotifyFailed
from sidecar.facade.payload import JSON
from skills_core.capabilities.notify.hints import HINTS, ONCE_EVERY_S, unknown_hint


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_key: dict[str, dict[str, Any]] = {}
        if path.exists():
            for message in self.messages():
                self._by_key[str(message.get("dedupe_key"))] = message

    def post(
        self,
        skill_id: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        if hint is not None and hint not in HINTS:
            raise NotifyFailed(unknown_hint(hint))
        with self._lock:
            message = self._by_key.get(dedupe_key)
            if message is None:
                message_id = uuid.uuid4().hex
                if hint is not None and self._hint_due(hint):
                    text = f"{text}\n{HINTS[hint]}"
                else:
                    hint = None
                message = {
                    "hint": hint,
                    "id": message_id,
                    "skill_id": skill_id,
                    "text": text,
                    "thread": thread or message_id,
                    "dedupe_key": dedupe_key,
                    "at": time.time(),
                }
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(message) + "\n")
                self._by_key[dedupe_key] = message
        return {
            "channel": "inbox",
            "delivered": "inbox",
            "message_id": message["id"],
            "thread": message["thread"],
        }

    def _hint_due(self, hint: str) -> bool:
        """Not shown in the last ONCE_EVERY_S (the file remembers across restarts)."""
        shown = [m["at"] for m in self._by_key.values() if m.get("hint") == hint]
        return not shown or time.time() - max(shown) >= ONCE_EVERY_S

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
