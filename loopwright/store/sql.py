"""Portable statements the two dialects spell differently: insert-or-ignore and upsert.

Both SQLite (3.24+) and PostgreSQL speak ``INSERT ... ON CONFLICT``; SQLAlchemy builds it per
dialect, so callers name the table, the values and the key, never the dialect. Each statement
shape is built once and executed with bound values: building it per call cost more than the
write itself (the ledger writes one per step).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(dialect: str, table: sa.Table) -> Any:
    try:
        return _INSERTS[dialect](table)
    except KeyError:
        raise NotImplementedError(f"store dialect {dialect!r} is not supported") from None


@functools.lru_cache(maxsize=256)
def _ignoring(dialect: str, table: sa.Table) -> Any:
    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    stmt = _insert(dialect, table).on_conflict_do_nothing()
    return stmt.returning(*table.primary_key.columns)


@functools.lru_cache(maxsize=256)
def _upserting(
    dialect: str,
    table: sa.Table,
    key: tuple[str, ...],
    replace: tuple[str, ...],
    add: tuple[str, ...],
    fill: tuple[str, ...],
) -> Any:
    stmt = _insert(dialect, table)
    changes: dict[str, Any] = {name: stmt.excluded[name] for name in replace}
    changes.update({name: table.c[name] + stmt.excluded[name] for name in add})
    changes.update({name: sa.func.coalesce(stmt.excluded[name], table.c[name]) for name in fill})
    if changes:
        return stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
    return stmt.on_conflict_do_nothing(index_elements=list(key))


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> bool:
    """Insert a row unless one with the same key exists; True when it was inserted."""
    stmt = _ignoring(conn.dialect.name, table)
    return conn.execute(stmt, dict(values)).first() is not None


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
    upsert_many(conn, table, [values], key, replace=replace, add=add, fill=fill)


def upsert_many(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key: Iterable[str],
    *,
    replace: Iterable[str] = (),
    add: Iterable[str] = (),
    fill: Iterable[str] = (),
) -> None:
    """``upsert`` of several rows of the same columns, applied in order in one execution (the
    driver's executemany): a group commit pays the statement's Python overhead once."""
    if not rows:
        return
    stmt = _upserting(conn.dialect.name, table, tuple(key), tuple(replace), tuple(add), tuple(fill))
    conn.execute(stmt, [dict(r) for r in rows] if len(rows) > 1 else dict(rows[0]))
