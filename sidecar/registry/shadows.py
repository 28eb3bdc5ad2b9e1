"""Shadows: candidates that run beside a skill's active version, on the registry's store.

A shadow (issue 8 §5, docs/REVIEW.md "Shadow") is started for a review proposal: the
candidate's validated source, the active version it shadows, and its functions' shadow ids
(``<fn-id>-shadow-<proposal>``), registered with the active functions' triggers. It is
stored here (not in memory) so a sidecar restart registers it again, and keyed by proposal,
so a review that resumes cannot start a second one. A stopped shadow keeps its row: its
functions still serve runs in flight, and its recorded effects stay readable.

Writes go through the registry's transactions, so ``Registry.preview`` sees a shadow being
started or stopped the same way it sees a version being activated: the function set is built
and synced first, the change committed only once the engine took it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

import sqlalchemy as sa

from loopwright.ledger import shadow_subject
from loopwright.store import insert_ignore

from .models import dumps
from .store import Registry
from .tables import shadow_effects, shadows

RUNNING, STOPPED = "running", "stopped"
#: Proposal ids the sidecar takes (the review's are ``p-<12 hex>``).
PROPOSAL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
#: Function ids are at most 63 characters (``SKILL_ID_PATTERN``).
MAX_FN_ID = 63


@dataclasses.dataclass(frozen=True)
class ShadowFunction:
    fn_id: str
    shadow_fn_id: str


@dataclasses.dataclass(frozen=True)
class Shadow:
    proposal_id: str
    skill_id: str
    base_version: int
    filename: str
    content_hash: str
    functions: tuple[ShadowFunction, ...]
    state: str
    started_by: str
    created_at: float
    stopped_at: float | None
    stop_reason: str | None
    source: str = dataclasses.field(repr=False)
    report: dict[str, Any] = dataclasses.field(repr=False)

    @property
    def ledger_subject(self) -> str:
        """The skill id its runs carry in the ledger (never the skill's own)."""
        return shadow_subject(self.skill_id, self.proposal_id)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        del out["source"], out["report"]
        out["ledger_subject"] = self.ledger_subject
        return out


def shadow_fn_id(fn_id: str, proposal_id: str) -> str:
    """``<fn-id>-shadow-<last 8 of the proposal id>``; ValueError when it would be too long."""
    tail = re.sub(r"[^a-z0-9]", "", proposal_id)[-8:]
    out = f"{fn_id}-shadow-{tail}"
    if len(out) > MAX_FN_ID:
        raise ValueError(
            f"function {fn_id!r} is too long to shadow: {out!r} exceeds {MAX_FN_ID} characters "
            "(shorten the function id)"
        )
    return out


class ShadowStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def add(self, shadow: Shadow) -> bool:
        """Store a running shadow; False when one exists for this proposal (left as it is)."""
        values = {
            **{k: v for k, v in dataclasses.asdict(shadow).items() if k != "functions"},
            "report": dumps(shadow.report),
            "functions": dumps([dataclasses.asdict(f) for f in shadow.functions]),
        }
        with self.registry._tx() as db:
            return insert_ignore(db, shadows, values)

    def stop(self, proposal_id: str, reason: str) -> None:
        with self.registry._tx() as db:
            db.execute(
                shadows.update()
                .where(shadows.c.proposal_id == proposal_id, shadows.c.state == RUNNING)
                .values(state=STOPPED, stopped_at=time.time(), stop_reason=reason)
            )

    def get(self, proposal_id: str) -> Shadow | None:
        query = sa.select(shadows).where(shadows.c.proposal_id == proposal_id)
        row = self.registry._read(lambda c: c.execute(query).mappings().first())
        return None if row is None else _shadow(row)

    def listed(self, *, running_only: bool = False) -> list[Shadow]:
        query = sa.select(shadows).order_by(shadows.c.created_at, shadows.c.proposal_id)
        if running_only:
            query = query.where(shadows.c.state == RUNNING)
        rows = self.registry._read(lambda c: c.execute(query).mappings().all())
        return [_shadow(r) for r in rows]

    def record_effect(
        self, proposal_id: str, key: str, run_id: str, capability: str, method: str, args: Any
    ) -> None:
        values = {
            "proposal_id": proposal_id, "key": key, "run_id": run_id, "capability": capability,
            "method": method, "args": json.dumps(args, sort_keys=True, default=str),
            "at": time.time(),
        }  # fmt: skip
        self.registry.store.write(lambda c: insert_ignore(c, shadow_effects, values))

    def effects(self, proposal_id: str) -> list[dict[str, Any]]:
        t = shadow_effects
        query = sa.select(t).where(t.c.proposal_id == proposal_id).order_by(t.c.at, t.c.key)
        rows = self.registry._read(lambda c: c.execute(query).mappings().all())
        return [{**r, "args": json.loads(r["args"])} for r in rows]


def _shadow(row: Any) -> Shadow:
    return Shadow(
        proposal_id=row["proposal_id"],
        skill_id=row["skill_id"],
        base_version=row["base_version"],
        filename=row["filename"],
        content_hash=row["content_hash"],
        functions=tuple(ShadowFunction(**f) for f in json.loads(row["functions"])),
        state=row["state"],
        started_by=row["started_by"],
        created_at=row["created_at"],
        stopped_at=row["stopped_at"],
        stop_reason=row["stop_reason"],
        source=row["source"],
        report=json.loads(row["report"]),
    )
