"""Where a message a skill posted came from: its skill, run and time, found by its id.

Ids as ``loopwright inbox`` shows them: ``inbox:N`` (or just ``N``) for the local inbox;
a Slack message by its ``ts`` (``slack:TS`` or the bare ts), found in the notify post ledger,
which records the run id with each post.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Protocol

from .errors import UnknownMessage


@dataclasses.dataclass(frozen=True)
class PostedMessage:
    message_id: str
    skill_id: str
    run_id: str | None
    at: float
    channel: str


class MessageSource(Protocol):
    def find(self, message_id: str) -> PostedMessage: ...


class CapabilityMessages:
    """Messages recorded in the capabilities database (``var/capabilities.db``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def find(self, message_id: str) -> PostedMessage:
        if not self.path.exists():
            raise UnknownMessage(message_id)
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return self._inbox(conn, message_id) or self._posted(conn, message_id)
        finally:
            conn.close()

    def _inbox(self, conn: sqlite3.Connection, message_id: str) -> PostedMessage | None:
        number = message_id.removeprefix("inbox:")
        if not number.isdigit():
            return None
        row = conn.execute("SELECT * FROM inbox_messages WHERE id = ?", (int(number),)).fetchone()
        if row is None:
            raise UnknownMessage(message_id)
        run_id = row["run_id"] if "run_id" in row.keys() else None  # noqa: SIM118 (sqlite3.Row)
        return PostedMessage(
            f"inbox:{row['id']}", row["skill_id"], run_id, row["created_at"], row["channel"]
        )

    def _posted(self, conn: sqlite3.Connection, message_id: str) -> PostedMessage:
        ts = message_id.removeprefix("slack:").split(":")[-1]
        for row in conn.execute(
            "SELECT skill_id, channel, claimed_at, result FROM notify_posts "
            "WHERE state = 'posted' AND result LIKE ?",
            (f"%{ts}%",),
        ):
            result = json.loads(row["result"])
            if result.get("message_id") == ts:
                return PostedMessage(
                    f"slack:{ts}",
                    row["skill_id"],
                    result.get("run_id"),
                    row["claimed_at"],
                    row["channel"],
                )
        raise UnknownMessage(message_id)
