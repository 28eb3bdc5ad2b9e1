"""SQLite access: a single writer thread with group commit, and pooled readers.

Why one writer: SQLite allows one writer at a time; funnelling every write through
one thread removes lock contention and lets many small transactions share one
commit (and, in durable mode, one fsync). Each job runs inside its own SAVEPOINT,
so a job that raises is rolled back alone and the others in the group still commit.
"""

from __future__ import annotations

import asyncio
import enum
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .schema import DDL, SCHEMA_VERSION

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

_MAX_GROUP = 512


class Durability(enum.StrEnum):
    """`normal` survives a process crash; `full` also survives power loss (fsync per commit)."""

    NORMAL = "normal"
    FULL = "full"


def _connect(path: str, durability: Durability) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability.value.upper()}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


class Database:
    def __init__(self, path: str | Path, durability: Durability = Durability.NORMAL) -> None:
        self.path = str(path)
        self.durability = durability
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = _connect(self.path, durability)
        self._conn.executescript(DDL)
        self._conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._jobs: queue.SimpleQueue[tuple[Job, asyncio.Future[Any]] | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lw-db-read")
        self._thread = threading.Thread(target=self._writer_loop, name="lw-db-write", daemon=True)
        self._thread.start()
        self.commits = 0
        self.jobs_committed = 0

    # -- writing ---------------------------------------------------------------------

    def write(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run `job(conn)` in the writer thread inside a transaction; resolves after commit."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((job, fut))
        return fut

    def write_blocking(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """For start-up and shutdown paths that run before or after the event loop."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = job(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return result

    def _writer_loop(self) -> None:
        conn = self._conn
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            while len(group) < _MAX_GROUP:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                group.append(nxt)
            results = self._run_group(conn, group)
            for (_, fut), (ok, value) in zip(group, results, strict=True):
                loop = fut.get_loop()
                if loop.is_closed():
                    continue
                setter = _resolve if ok else _reject
                loop.call_soon_threadsafe(setter, fut, value)

    def _run_group(
        self, conn: sqlite3.Connection, group: list[tuple[Job, asyncio.Future[Any]]]
    ) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job, _ in group:
                conn.execute("SAVEPOINT job")
                try:
                    value = job(conn)
                except Exception as exc:  # one bad job must not sink the group
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((False, exc))
                else:
                    conn.execute("RELEASE job")
                    results.append((True, value))
            conn.execute("COMMIT")
            self.commits += 1
            self.jobs_committed += len(group)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(False, exc) for _ in group]
        return results

    # -- reading ---------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, self.durability)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))

    def read_blocking(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._conn)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)
        self._readers.shutdown(wait=True)
        self._conn.close()


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _reject(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
