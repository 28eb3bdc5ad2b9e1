"""Store fixtures for suites that run against every store dialect: SQLite and PostgreSQL (the
server on 127.0.0.1:5432, which .ci/run starts when it is down), each test on a fresh database.

PostgreSQL is what replicas share, so its cases fail, never skip, when the server does not
answer; a machine without one opts out explicitly with LOOPWRIGHT_TESTS_WITHOUT_POSTGRES=1.

    @pytest.fixture(params=DIALECTS)
    def store_url(request, tmp_path):
        with fresh_store_url(request.param, tmp_path) as url:
            yield url
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@functools.cache
def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


OPT_OUT = "LOOPWRIGHT_TESTS_WITHOUT_POSTGRES"
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    os.environ.get(OPT_OUT) == "1", reason=f"{OPT_OUT}=1: PostgreSQL cases opted out"))]  # fmt: skip


@contextlib.contextmanager
def fresh_store_url(dialect: str, tmp_path: Path, name: str = "platform.db") -> Iterator[str]:
    """The URL of an empty database of ``dialect``, dropped afterwards (PostgreSQL)."""
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / name}"
        return
    if not _postgres_available():
        pytest.fail(
            "PostgreSQL does not answer on 127.0.0.1:5432: start it (Debian: pg_ctlcluster "
            "--skip-systemctl-redirect $(ls /etc/postgresql) main start; .ci/run does), or set "
            f"{OPT_OUT}=1 to leave these cases out"
        )
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
