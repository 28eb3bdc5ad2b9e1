"""Store fixtures for suites that run against every store dialect: SQLite always, PostgreSQL
when the server on 127.0.0.1 answers (CI's machine has one), each test on a fresh database.

    @pytest.fixture(params=DIALECTS)
    def store_url(request, tmp_path):
        with fresh_store_url(request.param, tmp_path) as url:
            yield url
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not _postgres_available(), reason="no PostgreSQL on 127.0.0.1:5432"))]  # fmt: skip


@contextlib.contextmanager
def fresh_store_url(dialect: str, tmp_path: Path, name: str = "platform.db") -> Iterator[str]:
    """The URL of an empty database of ``dialect``, dropped afterwards (PostgreSQL)."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / name}"
        return
    database = f"lw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
