"""The post ledger: dedupe claims and thread roots, in SQLite.

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
import sqlite3
import time
from typing import Literal

from ..store import CapabilityStore
from .messages import PostResult

ClaimState = Literal["new", "done", "busy", "stale", "uncertain"]


@dataclasses.dataclass(frozen=True)
class Claim:
    state: ClaimState
    result: PostResult | None = None
    claimed_at: float = 0.0
    wait_s: float = 0.0


def lookup(db: sqlite3.Connection, skill_id: str, key: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM notify_posts WHERE skill_id = ? AND dedupe_key = ?", (skill_id, key)
    ).fetchone()
    return row


def thread_root(db: sqlite3.Connection, channel: str, thread_key: str) -> str | None:
    row = db.execute(
        "SELECT root FROM notify_threads WHERE channel = ? AND thread_key = ?",
        (channel, thread_key),
    ).fetchone()
    return None if row is None else str(row["root"])


def save_thread_root(db: sqlite3.Connection, channel: str, thread_key: str, root: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO notify_threads VALUES (?, ?, ?, ?)",
        (channel, thread_key, root, time.time()),
    )


def save_posted(
    db: sqlite3.Connection, skill_id: str, key: str, result: PostResult, state: str = "posted"
) -> None:
    db.execute(
        "INSERT INTO notify_posts VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (skill_id, dedupe_key) DO UPDATE SET state = excluded.state, "
        "result = excluded.result",
        (skill_id, key, result.channel, state, time.time(), result.model_dump_json()),
    )


class PostLedger:
    def __init__(self, store: CapabilityStore, lease_s: float) -> None:
        self._store = store
        self._lease_s = lease_s

    def claim(self, skill_id: str, key: str, channel: str) -> Claim:
        def run(db: sqlite3.Connection) -> Claim:
            row = lookup(db, skill_id, key)
            now = time.time()
            if row is None:
                db.execute(
                    "INSERT INTO notify_posts VALUES (?, ?, ?, 'claimed', ?, NULL)",
                    (skill_id, key, channel, now),
                )
                return Claim("new", claimed_at=now)
            if row["state"] in ("posted", "uncertain"):
                result = PostResult.model_validate_json(row["result"])
                return Claim("done" if row["state"] == "posted" else "uncertain", result)
            age = now - row["claimed_at"]
            if age < self._lease_s:
                return Claim("busy", claimed_at=row["claimed_at"], wait_s=self._lease_s - age)
            db.execute(
                "UPDATE notify_posts SET claimed_at = ? WHERE skill_id = ? AND dedupe_key = ?",
                (now, skill_id, key),
            )
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

        def run(db: sqlite3.Connection) -> None:
            save_posted(db, skill_id, key, result, state)
            if thread:
                save_thread_root(db, *thread)

        self._store.write(run)

    def release(self, skill_id: str, key: str) -> None:
        """Nothing was sent: drop the claim so a retry sends."""
        self._store.write(
            lambda db: db.execute(
                "DELETE FROM notify_posts WHERE skill_id = ? AND dedupe_key = ? "
                "AND state = 'claimed'",
                (skill_id, key),
            )
        )

    def expire(self, skill_id: str, key: str) -> None:
        """The send may have happened: let the next attempt reconcile at once."""
        # Backdate past the lease, keeping roughly when it was sent (reconciling searches
        # the channel from there).
        self._store.write(
            lambda db: db.execute(
                "UPDATE notify_posts SET claimed_at = claimed_at - ? "
                "WHERE skill_id = ? AND dedupe_key = ?",
                (self._lease_s + 1, skill_id, key),
            )
        )

    def thread_root(self, channel: str, thread_key: str) -> str | None:
        return self._store.read(lambda db: thread_root(db, channel, thread_key))
