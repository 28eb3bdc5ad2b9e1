"""The local inbox: a channel that needs no account, and the default when Slack is absent.

A post and its dedupe record are written in *one* SQLite transaction, so the inbox is exactly
once even across crashes: either both exist or neither does. ``read_inbox`` is what the CLI
(``loopwright inbox``) and, later, the console read.
"""

from __future__ import annotations

import datetime
import sqlite3
import time
from pathlib import Path

import pydantic

from ..store import CapabilityStore
from .ledger import lookup, save_posted, save_thread_root, thread_root
from .messages import PostRequest, PostResult, delivered_to

CHANNEL = "inbox"


class InboxMessage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    id: int
    #: The channel the skill asked for (``slack`` when Slack was not configured).
    channel: str
    skill_id: str
    thread_key: str | None
    #: Id of the thread's first message; equal to ``id`` for the first one.
    thread_root: int | None
    text: str
    at: datetime.datetime
    #: The run that posted it (None for messages from before runs were recorded).
    run_id: str | None = None

    @property
    def message_id(self) -> str:
        """The id feedback names (``loopwright feedback inbox:N useful``)."""
        return f"inbox:{self.id}"

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def delivered(self) -> str:
        """``inbox``, or ``inbox — Slack not configured`` when the skill asked for Slack."""
        return delivered_to(CHANNEL, self.channel)


def post_once(
    store: CapabilityStore, skill_id: str, request: PostRequest, requested_channel: str
) -> PostResult:
    def run(db: sqlite3.Connection) -> PostResult:
        row = lookup(db, skill_id, request.dedupe_key)
        if row is not None and row["result"]:
            done = PostResult.model_validate_json(row["result"])
            return done.model_copy(update={"duplicate": True})
        root = thread_root(db, CHANNEL, request.thread_key) if request.thread_key else None
        cursor = db.execute(
            "INSERT INTO inbox_messages (channel, skill_id, thread_key, thread_root, text, "
            "created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                requested_channel,
                skill_id,
                request.thread_key,
                root,
                request.text,
                time.time(),
                request.run_id,
            ),
        )
        message_id = str(cursor.lastrowid)
        if request.thread_key and root is None:
            root = message_id
            db.execute("UPDATE inbox_messages SET thread_root = id WHERE id = ?", (message_id,))
            save_thread_root(db, CHANNEL, request.thread_key, root)
        result = PostResult(
            channel=CHANNEL,
            requested_channel=requested_channel,
            message_id=f"inbox:{message_id}",
            thread=request.thread_key,
            thread_root=f"inbox:{root}" if root else None,
            run_id=request.run_id,
        )
        save_posted(db, skill_id, request.dedupe_key, result)
        return result

    return store.write(run)


def read_inbox(
    source: CapabilityStore | Path | str,
    *,
    after_id: int = 0,
    limit: int = 100,
    thread_key: str | None = None,
) -> list[InboxMessage]:
    """Messages with ``id > after_id``, oldest first (poll with the last id to follow)."""
    store = source if isinstance(source, CapabilityStore) else CapabilityStore(source)
    try:
        rows = store.read(
            lambda db: db.execute(
                "SELECT * FROM inbox_messages WHERE id > ? AND (? IS NULL OR thread_key = ?) "
                "ORDER BY id LIMIT ?",
                (after_id, thread_key, thread_key, limit),
            ).fetchall()
        )
    finally:
        if store is not source:
            store.close()
    return [
        InboxMessage(
            id=row["id"],
            channel=row["channel"],
            skill_id=row["skill_id"],
            thread_key=row["thread_key"],
            thread_root=row["thread_root"],
            text=row["text"],
            at=datetime.datetime.fromtimestamp(row["created_at"], datetime.UTC),
            run_id=row["run_id"],
        )
        for row in rows
    ]
