"""Rows of the registry as plain frozen values: a skill, one of its versions, an audit entry.

A version's content (source, hash, parent, author, reason, time, report) never changes once
written; only its lifecycle fields (``state``, ``note``, approval and activation stamps) move,
and every move is also appended to the audit log.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from .states import VersionState

Author = Literal["agent", "human", "review"]
AUTHORS: tuple[Author, ...] = ("agent", "human", "review")


@dataclasses.dataclass(frozen=True)
class Skill:
    id: str
    filename: str
    #: The version new runs start on; None when nothing is live (never approved, or removed).
    active_version: int | None
    #: Paused: the functions leave the sync (no new runs) but keep serving runs in flight.
    paused: bool
    #: The file is gone from the watched folder.
    removed: bool
    #: The version whose content the file held when last read (the parent of the next one).
    file_version: int | None
    latest_version: int
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Version:
    skill_id: str
    number: int
    content_hash: str
    parent: int | None
    author: Author
    reason: str
    created_at: float
    state: VersionState
    #: Why the state is what it is, when that is not obvious (sync error, rejection reason).
    note: str | None
    #: The approval policy's decision: {"needs_approval": bool, "reasons": [...]}.
    approval: dict[str, Any] | None
    approved_by: str | None
    approved_at: float | None
    #: Last time this version became active (None: never ran).
    activated_at: float | None
    function_ids: tuple[str, ...]
    filename: str
    source: str = dataclasses.field(repr=False)
    #: The validation report (``ValidationReport.to_dict()``); None while proposed.
    report: dict[str, Any] | None = dataclasses.field(repr=False)

    def metadata(self) -> dict[str, Any]:
        """Everything but the source and the report (for listings)."""
        out = dataclasses.asdict(self)
        del out["source"], out["report"]
        out["state"] = self.state.value
        out["function_ids"] = list(self.function_ids)
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.metadata(), "source": self.source, "report": self.report}


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    id: int
    skill_id: str
    version: int | None
    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    detail: str | None
    at: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
