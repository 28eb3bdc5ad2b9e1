"""The post ledger: dedupe claims and thread roots, on the platform store.

A post is *claimed* (committed) before anything is sent and *recorded* after, so a crash or
a retry always finds one of:

* no row — nothing was sent; send.
* ``posted`` — it went out; answer the recorded result, send nothing.
* ``claimed``, younger than the lease — another attempt is in flight; come back later.
* ``claimed``, older than the lease — an attempt died between sending and recording, or
  timed out waiting for the answer; the message may exist. A channel that can look its own
  messages up (Slack Web API) reconciles; one that cannot (a webhook) does not send again and
  is marked ``uncertain`` (at most once).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, Literal

import sqlalchemy as sa

from loopwright.store import insert_ignore, metadata, upsert

from ..store import CapabilityStore
from .messages import PostResult

ClaimState = Literal["new", "done", "busy", "stale", "uncertain"]

posts = sa.Table(
    "notify_posts",
    metadata,
    sa.Column("skill_id", sa.Text, primary_key=True),
    sa.Column("dedupe_key", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # claimed | posted | uncertain
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("result", sa.Text),  # PostResult JSON once posted
)

threads = sa.Table(
    "notify_threads",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("thread_key", sa.Text, primary_key=True),
    sa.Column("root", sa.Text, nullable=False),  # Slack ts or inbox message id of the first post
    sa.Column("created_at", sa.Float, nullable=False),
)


@dataclasses.dataclass(frozen=True)
class Claim:
    state: ClaimState
    result: PostResult | None = None
    claimed_at: float = 0.0
    wait_s: float = 0.0


def _post_key(skill_id: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(posts.c.skill_id == skill_id, posts.c.dedupe_key == key)


def lookup(db: sa.Connection, skill_id: str, key: str) -> sa.RowMapping | None:
    return db.execute(sa.select(posts).where(_post_key(skill_id, key))).mappings().first()


def thread_root(db: sa.Connection, channel: str, thread_key: str) -> str | None:
    query = sa.select(threads.c.root).where(
        threads.c.channel == channel, threads.c.thread_key == thread_key
    )
    root = db.execute(query).scalar()
    return None if root is None else str(root)


def save_thread_root(db: sa.Connection, channel: str, thread_key: str, root: str) -> None:
    row = {"channel": channel, "thread_key": thread_key, "root": root, "created_at": time.time()}
    insert_ignore(db, threads, row)


def save_posted(
    db: sa.Connection, skill_id: str, key: str, result: PostResult, state: str = "posted"
) -> None:
    row = {
        "skill_id": skill_id,
        "dedupe_key": key,
        "channel": result.channel,
        "state": state,
        "claimed_at": time.time(),
        "result": result.model_dump_json(),
    }
    upsert(db, posts, row, ["skill_id", "dedupe_key"], replace=["state", "result"])


def posted_with_message_id(db: sa.Connection, message_id: str) -> dict[str, Any] | None:
    """The posted record whose result names ``message_id`` (a Slack ts), with that result."""
    query = sa.select(posts.c.skill_id, posts.c.channel, posts.c.claimed_at, posts.c.result).where(
        posts.c.state == "posted", posts.c.result.contains(message_id, autoescape=True)
    )
    for row in db.execute(query).mappings():
        result = json.loads(row["result"])
        if result.get("message_id") == message_id:
            return {**row, "result": result}
    return None


class PostLedger:
    def __init__(self, store: CapabilityStore, lease_s: float) -> None:
        self._store = store
        self._lease_s = lease_s

    def claim(self, skill_id: str, key: str, channel: str) -> Claim:
        def run(db: sa.Connection) -> Claim:
            row = lookup(db, skill_id, key)
            now = time.time()
            if row is None:
                db.execute(
                    posts.insert().values(
                        skill_id=skill_id,
                        dedupe_key=key,
                        channel=channel,
                        state="claimed",
                        claimed_at=now,
                    )
                )
                return Claim("new", claimed_at=now)
            if row["state"] in ("posted", "uncertain"):
                result = PostResult.model_validate_json(row["result"])
                return Claim("done" if row["state"] == "posted" else "uncertain", result)
            age = now - row["claimed_at"]
            if age < self._lease_s:
                return Claim("busy", claimed_at=row["claimed_at"], wait_s=self._lease_s - age)
            db.execute(posts.update().where(_post_key(skill_id, key)).values(claimed_at=now))
            return Claim("stale", claimed_at=row["claimed_at"])

        return self._store.write(run)

    def record(
        self,
        skill_id: str,
        key: str,
        result: PostResult,
        *,
        thread: tuple[str, str, str] | None = None,
        state: str = "posted",
    ) -> None:
        """Mark the claim done; ``thread`` = (channel, thread_key, root) for a new thread."""

        def run(db: sa.Connection) -> None:
            save_posted(db, skill_id, key, result, state)
            if thread:
                save_thread_root(db, *thread)

        self._store.write(run)

    def release(self, skill_id: str, key: str) -> None:
        """Nothing was sent: drop the claim so a retry sends."""
        self._store.write(
            lambda db: db.execute(
                posts.delete().where(_post_key(skill_id, key), posts.c.state == "claimed")
            )
        )

    def expire(self, skill_id: str, key: str) -> None:
        """The send may have happened: let the next attempt reconcile at once."""
        # Backdate past the lease, keeping roughly when it was sent (reconciling searches
        # the channel from there).
        self._store.write(
            lambda db: db.execute(
                posts.update()
                .where(_post_key(skill_id, key))
                .values(claimed_at=posts.c.claimed_at - (self._lease_s + 1))
            )
        )

    def thread_root(self, channel: str, thread_key: str) -> str | None:
        return self._store.read(lambda db: thread_root(db, channel, thread_key))
