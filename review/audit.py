"""The review's audit log: every action, who took it, and why."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from loopwright.store import Store

from . import tables


def record(
    store: Store,
    at: float,
    action: str,
    detail: dict[str, Any],
    *,
    skill_id: str | None = None,
    proposal_id: str | None = None,
    report_id: str | None = None,
    actor: str = "review",
) -> None:
    store.write(
        lambda conn: conn.execute(
            sa.insert(tables.audit).values(
                at=at,
                actor=actor,
                action=action,
                skill_id=skill_id,
                proposal_id=proposal_id,
                report_id=report_id,
                detail=detail,
            )
        )
    )


def entries(store: Store, skill_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    t = tables.audit
    query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
    if skill_id:
        query = query.where(t.c.skill_id == skill_id)
    rows = store.read(lambda conn: conn.execute(query).mappings().all())
    return [dict(r) for r in reversed(rows)]
