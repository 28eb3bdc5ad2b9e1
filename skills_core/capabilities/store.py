"""The capabilities' tables on the platform store: inbox, post dedupe, thread roots, hints,
deploy events, LLM ledger.

Each table is declared by the module that owns it (``notify/inbox.py``, ``notify/ledger.py``,
``notify/hints.py``, ``deploys.py``, ``llm/budget.py``) on the one ``loopwright.store``
metadata. ``CapabilityStore`` hands out the store's serialised write transactions (SQLite:
``BEGIN IMMEDIATE``, so a check-then-insert such as a dedupe claim or a budget reservation is
atomic against other processes sharing the file; PostgreSQL: a transaction shared by replicas)
and its reads.

It opens what it is given: a ``Store`` (shared, not closed here), a ``sqlite:///``/
``postgresql+psycopg://`` URL, or a SQLite file path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from loopwright.store import Store, open_store

T = TypeVar("T")

#: The modules that declare the capabilities' tables: imported before the tables are created,
#: because a process may open the store before it has imported the service using a table.
TABLE_MODULES = (
    "skills_core.capabilities.notify.inbox",
    "skills_core.capabilities.notify.ledger",
    "skills_core.capabilities.notify.hints",
    "skills_core.capabilities.deploys",
    "skills_core.capabilities.llm.budget",
)


def declare_tables() -> None:
    for name in TABLE_MODULES:
        importlib.import_module(name)


class CapabilityStore:
    """The capabilities' view of the platform store; ``write``/``read`` as ``Store``'s."""

    def __init__(self, source: Store | str | Path) -> None:
        self._owned = not isinstance(source, Store)
        self.store = open_store(source) if not isinstance(source, Store) else source
        declare_tables()
        self.store.ensure()

    @property
    def url(self) -> str:
        return self.store.url

    @property
    def path(self) -> Path | None:
        """The SQLite file, when the store is one."""
        database = sa.make_url(self.store.url).database
        return Path(database) if self.store.dialect == "sqlite" and database else None

    def write(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn`` in one serialised transaction; commit, or roll back on error."""
        return self.store.write(fn)

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        return self.store.read(fn)

    def close(self) -> None:
        if self._owned:
            self.store.close()
