"""The platform's store layer: one database for every platform table.

SQLite (one file, WAL) is the embedded default; PostgreSQL, named by URL, is the store that
replicas behind real Inngest share. Tables are SQLAlchemy Core ``Table`` objects declared on
``metadata`` by the module that owns the concept (the ledger, the review, ...); nothing else
writes SQL for another module's tables.

    store = open_store()                      # $LOOPWRIGHT_STORE_URL or sqlite:///var/platform.db
    store.write(lambda conn: conn.execute(...))
    rows = store.read(lambda conn: conn.execute(...).all())
"""

from .database import (
    DEFAULT_URL,
    STORE_URL_ENV,
    Store,
    StoreError,
    open_store,
    store_exists,
    store_url,
)
from .sql import insert_ignore, upsert, upsert_many
from .tables import metadata

__all__ = [
    "DEFAULT_URL",
    "STORE_URL_ENV",
    "Store",
    "StoreError",
    "insert_ignore",
    "metadata",
    "open_store",
    "store_exists",
    "store_url",
    "upsert",
    "upsert_many",
]
