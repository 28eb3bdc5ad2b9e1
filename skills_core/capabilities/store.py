"""The capabilities' SQLite file: inbox, post dedupe, thread roots, deploy events, LLM ledger.

One writer: every write runs inside ``write(fn)`` on a single connection, serialised by a
lock, in ``BEGIN IMMEDIATE`` so a check-then-insert (a dedupe claim, a budget reservation) is
atomic against other processes sharing the file too. Reads use their own connection, and WAL
lets them proceed while a write is open. The busy timeout is generous because a second process
(the CLI reading the inbox) must wait, not fail.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,            -- the channel the skill asked for ("inbox", "slack", ...)
    skill_id TEXT NOT NULL,
    thread_key TEXT,
    thread_root INTEGER,              -- id of the thread's first message; NULL when unthreaded
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    run_id TEXT                       -- the run that posted (feedback finds its decisions)
);
CREATE TABLE IF NOT EXISTS notify_posts (
    skill_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,              -- claimed | posted | uncertain
    claimed_at REAL NOT NULL,
    result TEXT,                      -- PostResult JSON once posted
    PRIMARY KEY (skill_id, dedupe_key)
);
CREATE TABLE IF NOT EXISTS notify_threads (
    channel TEXT NOT NULL,
    thread_key TEXT NOT NULL,
    root TEXT NOT NULL,               -- Slack ts or inbox message id of the first post
    created_at REAL NOT NULL,
    PRIMARY KEY (channel, thread_key)
);
CREATE TABLE IF NOT EXISTS notify_hints (
    hint TEXT NOT NULL,
    channel TEXT NOT NULL,
    shown_at REAL NOT NULL,           -- when the hint last went out on this channel
    dedupe_key TEXT NOT NULL,         -- the post that carried it (its retries carry it too)
    PRIMARY KEY (hint, channel)
);
CREATE TABLE IF NOT EXISTS deploy_events (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    version TEXT NOT NULL,
    at REAL NOT NULL,
    author TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deploy_events_service_at ON deploy_events (service, at);
CREATE TABLE IF NOT EXISTS llm_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    skill_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    role TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,              -- reserved | settled | released
    reserved_usd REAL NOT NULL,
    usd REAL NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    settled_at REAL
);
CREATE INDEX IF NOT EXISTS llm_usage_skill_time ON llm_usage (skill_id, created_at);
CREATE INDEX IF NOT EXISTS llm_usage_skill_run ON llm_usage (skill_id, run_id);
"""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _add_column(conn: sqlite3.Connection, table: str, column: str) -> None:
    """Migrate a file made before ``column`` existed."""
    have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
    if column.split()[0] not in have:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


class CapabilityStore:
    """Owns the SQLite file; hands out serialised write transactions and reads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(self.path)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._writer.execute("PRAGMA synchronous = NORMAL")
        self._writer.executescript(SCHEMA)
        _add_column(self._writer, "inbox_messages", "run_id TEXT")
        self._reader = _connect(self.path)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction; commit, or roll back on error."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")
            return result

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._read_lock:
            return fn(self._reader)

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()
