"""Portable statements the two dialects spell differently: insert-or-ignore and upsert.

Both SQLite (3.24+) and PostgreSQL speak ``INSERT ... ON CONFLICT``; SQLAlchemy builds it per
dialect, so callers name the table, the values and the key, never the dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"store dialect {conn.dialect.name!r} is not supported")


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> bool:
    """Insert a row unless one with the same key exists; True when it was inserted."""
    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing()
    return conn.execute(stmt.returning(*table.primary_key.columns)).first() is not None


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    key: Iterable[str],
    *,
    replace: Iterable[str] = (),
    add: Iterable[str] = (),
    fill: Iterable[str] = (),
) -> None:
    """Insert a row, or on a key conflict overwrite the ``replace`` columns, add the new
    values to the ``add`` columns (counters) and overwrite the ``fill`` columns only with
    non-null values, atomically in one statement."""
    stmt = _insert(conn, table).values(**values)
    changes: dict[str, Any] = {name: stmt.excluded[name] for name in replace}
    changes.update({name: table.c[name] + stmt.excluded[name] for name in add})
    changes.update({name: sa.func.coalesce(stmt.excluded[name], table.c[name]) for name in fill})
    if changes:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt)
