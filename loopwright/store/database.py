"""``Store``: serialised write transactions and concurrent reads over one database.

SQLite: one writer connection behind a lock, each write in ``BEGIN IMMEDIATE`` so a
check-then-write is atomic against other processes sharing the file (the sidecar, the agent
and the CLI all open it), a generous busy timeout so a second process waits instead of
failing, and WAL so readers never block the writer. PostgreSQL: a small pool; transactions
give the same guarantees across replicas.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from .tables import metadata

T = TypeVar("T")

STORE_URL_ENV = "LOOPWRIGHT_STORE_URL"
DEFAULT_URL = "sqlite:///var/platform.db"
BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The store's URL is unusable; the message says what to set."""


def store_url(explicit: str | Path | None = None) -> str:
    """The URL to open: an explicit URL or SQLite path, else $LOOPWRIGHT_STORE_URL, else the default."""
    if isinstance(explicit, Path):
        return f"sqlite:///{explicit}"
    if explicit:
        return explicit if "://" in explicit else f"sqlite:///{explicit}"
    return os.environ.get(STORE_URL_ENV) or DEFAULT_URL


def store_exists(location: str | Path) -> bool:
    """False only for a SQLite store whose file was never created (nothing written yet): a
    reader says so instead of creating an empty database. Servers (PostgreSQL) exist."""
    parsed = sa.make_url(store_url(location))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling cannot do BEGIN IMMEDIATE: take it over.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_engine(url: str, *, writer: bool) -> sa.Engine:
    # One writer connection (the lock serialises writers anyway); a few readers for threads.
    engine = sa.create_engine(url, pool_size=1 if writer else 4, max_overflow=0 if writer else 4)
    event.listen(engine, "connect", _sqlite_pragmas)
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


class Store:
    """One database. ``write`` runs a function in one serialised transaction; ``read`` in one
    consistent snapshot. Both return the function's value."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = sa.make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._writer = _sqlite_engine(url, writer=True)
            self._reader = _sqlite_engine(url, writer=False)
        elif self.dialect == "postgresql":
            self._writer = self._reader = sa.create_engine(url, pool_size=4, pool_pre_ping=True)
        else:
            raise StoreError(
                f"store URL {url!r}: only sqlite:///PATH and postgresql+psycopg://... are "
                f"supported; set {STORE_URL_ENV}"
            )
        self._write_lock = threading.Lock()
        self.ensure()

    def ensure(self) -> None:
        """Create every table declared so far that the database lacks (idempotent)."""
        with self._write_lock:
            metadata.create_all(self._writer)

    def write(self, fn: Callable[[sa.Connection], T]) -> T:
        with self._write_lock, self._writer.begin() as conn:
            return fn(conn)

    @contextlib.contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[sa.Connection]:
        """``write`` as a block; ``rollback=True`` discards it at the end (a preview: make
        changes, read what they give, keep nothing). Do not call ``write`` inside it from the
        same thread: the writer is held."""
        with self._write_lock, self._writer.connect() as conn:
            trans = conn.begin()
            try:
                yield conn
            except BaseException:
                trans.rollback()
                raise
            if rollback:
                trans.rollback()
            else:
                trans.commit()

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        with self._reader.begin() as conn:
            return fn(conn)

    def reading(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """``read`` as a block: one consistent snapshot."""
        return self._reader.begin()

    def close(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    def __repr__(self) -> str:
        return f"Store({sa.make_url(self.url).render_as_string(hide_password=True)!r})"


def open_store(url: str | Path | None = None) -> Store:
    return Store(store_url(url))
