"""Proposals: candidates for a skill's next version, and where each stands.

States: ``rejected`` (failed the backtest or validation; kept with the reason), ``shadowing``
(passed the backtest, running beside the active version), ``awaiting-approval`` (submitted;
the approval policy wants a person), ``promoted`` (active, watched), ``rolled-back``,
``declined`` (a person said no), ``dropped`` (failed the shadow or the sidecar refused it),
``kept`` (watched long enough, no regression).

A proposal's id hashes what it changes and what it starts from, so a review that resumes after
a crash finds the proposal it made instead of making another.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store, insert_ignore

from . import tables
from .errors import UnknownProposal

OPEN_STATES = ("shadowing", "awaiting-approval", "promoted")


@dataclasses.dataclass(frozen=True)
class Proposal:
    id: str
    report_id: str
    skill_id: str
    base_version: int | None
    path: str
    state: str
    candidate_version: int | None
    reason: str
    evidence: dict[str, Any]
    changes: dict[str, Any]
    backtest: dict[str, Any] | None
    shadow: dict[str, Any] | None
    watch: dict[str, Any] | None
    source: str | None
    created_at: float
    updated_at: float
    promoted_at: float | None

    def to_json(self, with_source: bool = False) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if not with_source:
            out.pop("source")
        return out


def proposal_id(skill_id: str, base_version: int | None, path: str, content: str) -> str:
    digest = hashlib.sha256(f"{skill_id}\0{base_version}\0{path}\0{content}".encode()).hexdigest()
    return f"p-{digest[:12]}"


def create(store: Store, item: Proposal) -> tuple[Proposal, bool]:
    """(the stored proposal, whether it is new)."""
    values = dataclasses.asdict(item)
    inserted = store.write(lambda conn: insert_ignore(conn, tables.proposals, values))
    return get(store, item.id), bool(inserted)


def get(store: Store, pid: str) -> Proposal:
    t = tables.proposals
    rows = store.read(
        lambda conn: conn.execute(sa.select(t).where(t.c.id.like(f"{pid}%"))).mappings().all()
    )
    if len(rows) != 1:
        raise UnknownProposal(pid)
    return Proposal(**dict(rows[0]))


def listed(
    store: Store, *, skill_id: str | None = None, states: tuple[str, ...] | None = None
) -> list[Proposal]:
    t = tables.proposals
    query = sa.select(t).order_by(t.c.created_at, t.c.id)
    if skill_id:
        query = query.where(t.c.skill_id == skill_id)
    if states:
        query = query.where(t.c.state.in_(states))
    return [Proposal(**dict(r)) for r in store.read(lambda c: c.execute(query).mappings().all())]


def update(store: Store, pid: str, now: float, **fields: Any) -> Proposal:
    t = tables.proposals
    store.write(
        lambda conn: conn.execute(
            sa.update(t).where(t.c.id == pid).values(updated_at=now, **fields)
        )
    )
    return get(store, pid)


def digest(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
