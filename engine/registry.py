"""The registered functions, held in memory as an immutable snapshot.

A sync builds a new snapshot and swaps it in one assignment, so code running in the
writer thread always sees one consistent set of functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .events import wildcard_keys
from .functions import FunctionConfig


@dataclasses.dataclass(frozen=True)
class Registered:
    config: FunctionConfig
    version: int
    archived: bool

    @property
    def slug(self) -> str:
        return self.config.slug


class Snapshot:
    """Functions by slug and uuid, plus an index from trigger name to active functions."""

    def __init__(self, functions: Iterable[Registered]) -> None:
        by_slug = {f.slug: f for f in functions}
        self.by_slug: Mapping[str, Registered] = MappingProxyType(by_slug)
        self.by_uuid: Mapping[str, Registered] = MappingProxyType(
            {f.config.uuid: f for f in by_slug.values()}
        )
        index: dict[str, list[Registered]] = {}
        for fn in by_slug.values():
            if fn.archived:
                continue
            for name in {t.event for t in fn.config.triggers if t.event}:
                index.setdefault(name, []).append(fn)
        self._index = index

    def match(self, event_name: str) -> list[Registered]:
        """Active functions with a trigger whose name matches; each function once."""
        found: dict[str, Registered] = {}
        for key in (event_name, *wildcard_keys(event_name)):
            for fn in self._index.get(key, ()):
                found.setdefault(fn.slug, fn)
        return list(found.values())

    def get(self, slug_or_uuid: str) -> Registered | None:
        return self.by_slug.get(slug_or_uuid) or self.by_uuid.get(slug_or_uuid)

    def replace(self, changes: Mapping[str, Registered]) -> Snapshot:
        merged = dict(self.by_slug)
        merged.update(changes)
        return Snapshot(merged.values())
