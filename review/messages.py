"""Where a message a skill posted came from: its skill, run and time, found by its id.

Ids as ``loopwright inbox`` shows them: ``inbox:N`` (or just ``N``) for the local inbox;
a Slack message by its ``ts`` (``slack:TS`` or the bare ts), found in the notify post ledger,
which records the run id with each post.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from loopwright.store import Store
from skills_core.capabilities.notify.inbox import find_message
from skills_core.capabilities.notify.ledger import posted_with_message_id
from skills_core.capabilities.store import CapabilityStore

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
    """Messages recorded in the capabilities' tables: on an open store, or at a store URL or
    SQLite path (``$LOOPWRIGHT_CAPABILITIES_DB``), opened for each lookup."""

    def __init__(self, source: Store | Path | str) -> None:
        self.source = source

    def find(self, message_id: str) -> PostedMessage:
        if isinstance(self.source, Path) and not self.source.exists():
            raise UnknownMessage(message_id)  # nothing was ever posted there
        store = CapabilityStore(self.source)
        try:
            return store.read(lambda conn: self._inbox(conn, message_id)) or store.read(
                lambda conn: self._posted(conn, message_id)
            )
        finally:
            store.close()

    def _inbox(self, conn: sa.Connection, message_id: str) -> PostedMessage | None:
        number = message_id.removeprefix("inbox:")
        if not number.isdigit():
            return None
        row = find_message(conn, int(number))
        if row is None:
            raise UnknownMessage(message_id)
        return PostedMessage(
            f"inbox:{row['id']}", row["skill_id"], row["run_id"], row["created_at"], row["channel"]
        )

    def _posted(self, conn: sa.Connection, message_id: str) -> PostedMessage:
        ts = message_id.removeprefix("slack:").split(":")[-1]
        row = posted_with_message_id(conn, ts)
        if row is None:
            raise UnknownMessage(message_id)
        return PostedMessage(
            f"slack:{ts}",
            row["skill_id"],
            row["result"].get("run_id"),
            row["claimed_at"],
            row["channel"],
        )
