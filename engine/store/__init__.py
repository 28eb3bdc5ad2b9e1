"""Durable state: one SQLite file in WAL mode, one writer thread with group commit,
readers on their own connections. Everything the engine must not forget lives here;
memory only caches it."""

from .database import Database, Durability

__all__ = ["Database", "Durability"]
