"""The local inbox: a channel that needs no account, and the default when Slack is absent.

A post and its dedupe record are written in *one* store transaction, so the inbox is exactly
once even across crashes: either both exist or neither does. ``read_inbox`` is what the CLI
(``loopwright inbox``) and, later, the console read.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy as sa

from loopwright.store import Store, metadata

from ..store import CapabilityStore
from .ledger import lookup, save_posted, save_thread_root, thread_root
from .messages import PostRequest, PostResult, delivered_to

CHANNEL = "inbox"

messages = sa.Table(
    "inbox_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.Text, nullable=False),  # the channel the skill asked for
    sa.Column("skill_id", sa.Text, nullable=False),
    sa.Column("thread_key", sa.Text),
    sa.Column("thread_root", sa.Integer),  # the thread's first message; NULL when unthreaded
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("run_id", sa.Text),  # the run that posted (feedback finds its decisions)
    sqlite_autoincrement=True,  # ids are never reused: feedback names messages by id
)


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
    store: CapabilityStore,
    skill_id: str,
    request: PostRequest,
    requested_channel: str,
    *,
    at: float | None = None,
) -> PostResult:
    """Post ``request`` unless its dedupe key was posted before; ``at`` stamps a message of
    recorded or simulated history with its own time (never a skill's choice)."""

    def run(db: sa.Connection) -> PostResult:
        row = lookup(db, skill_id, request.dedupe_key)
        if row is not None and row["result"]:
            done = PostResult.model_validate_json(row["result"])
            return done.model_copy(update={"duplicate": True})
        root = thread_root(db, CHANNEL, request.thread_key) if request.thread_key else None
        inserted = db.execute(
            messages.insert()
            .returning(messages.c.id)
            .values(
                channel=requested_channel,
                skill_id=skill_id,
                thread_key=request.thread_key,
                thread_root=None if root is None else int(root),
                text=request.text,
                created_at=time.time() if at is None else at,
                run_id=request.run_id,
            )
        )
        message_id = str(inserted.scalar_one())
        if request.thread_key and root is None:
            root = message_id
            db.execute(
                messages.update()
                .where(messages.c.id == int(message_id))
                .values(thread_root=messages.c.id)
            )
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
    source: CapabilityStore | Store | Path | str,
    *,
    after_id: int = 0,
    limit: int = 100,
    thread_key: str | None = None,
) -> list[InboxMessage]:
    """Messages with ``id > after_id``, oldest first (poll with the last id to follow).

    ``source``: an open store, or a store URL or SQLite path to open for this read."""
    query = sa.select(messages).where(messages.c.id > after_id)
    if thread_key is not None:
        query = query.where(messages.c.thread_key == thread_key)
    query = query.order_by(messages.c.id).limit(limit)
    store = source if isinstance(source, CapabilityStore) else CapabilityStore(source)
    try:
        rows = store.read(lambda db: db.execute(query).mappings().all())
    finally:
        if store is not source:
            store.close()
    return [_message(row) for row in rows]


def find_message(db: sa.Connection, message_id: int) -> dict[str, Any] | None:
    row = db.execute(sa.select(messages).where(messages.c.id == message_id)).mappings().first()
    return None if row is None else dict(row)


def _message(row: Any) -> InboxMessage:
    return InboxMessage(
        id=row["id"],
        channel=row["channel"],
        skill_id=row["skill_id"],
        thread_key=row["thread_key"],
        thread_root=row["thread_root"],
        text=row["text"],
        at=datetime.datetime.fromtimestamp(row["created_at"], datetime.UTC),
        run_id=row["run_id"],
    )
