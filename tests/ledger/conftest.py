"""The ledger's suite runs against every store dialect: SQLite always, PostgreSQL when the
server on 127.0.0.1 answers (CI's machine has one), each test on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopwright.store import Store, open_store

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


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(tmp_path / "platform.db")
        yield s
        s.close()
        return
    name = f"lw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    s = open_store(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        yield s
    finally:
        s.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
