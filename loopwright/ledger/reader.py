"""``LedgerReader``: the one way the CLI, the console, the agent and the review read history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store

from . import tables
from .records import AmbiguousRunId, DailyRollup, DecisionRecord, RunNotFound, RunRecord, StepRecord

MIN_PREFIX = 4
MAX_PAGE = 1_000


class LedgerReader:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure()  # the ledger's tables, if the store was opened before they were imported

    def runs(
        self,
        *,
        skill: str | None = None,
        function: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
        before: float | None = None,
    ) -> list[RunRecord]:
        """Newest first. ``before`` is a ``started_at`` cursor for the next page."""
        t = tables.runs
        query = sa.select(t).order_by(t.c.started_at.desc(), t.c.run_id.desc())
        conditions: list[Any] = []
        if skill:
            conditions.append(t.c.skill_id == skill)
        if function:
            conditions.append(
                sa.or_(t.c.function_id == function, t.c.function_id.endswith(f"-{function}"))
            )
        if status:
            # With a skill its index is the selective one, but SQLite (no ANALYZE statistics)
            # picks the status index and walks every run of that status (21 ms instead of 5 ms
            # at 100,000 runs on a loaded machine). ``status || ''`` keeps it off any index.
            column = t.c.status.concat("") if skill else t.c.status
            conditions.append(column == status)
        if since is not None:
            conditions.append(t.c.started_at >= since)
        if until is not None:
            conditions.append(t.c.started_at < until)
        if before is not None:
            conditions.append(t.c.started_at < before)
        query = query.where(*conditions).limit(max(1, min(limit, MAX_PAGE)))
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [RunRecord.from_row(r) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        """One run by its id or a unique prefix of it (at least 4 characters)."""
        t = tables.runs

        def read(conn: sa.Connection) -> list[Any]:
            exact = conn.execute(sa.select(t).where(t.c.run_id == run_id)).mappings().all()
            if exact or len(run_id) < MIN_PREFIX:
                return list(exact)
            query = sa.select(t).where(t.c.run_id.startswith(run_id, autoescape=True)).limit(6)
            return list(conn.execute(query).mappings().all())

        rows = self.store.read(read)
        if not rows:
            raise RunNotFound(run_id)
        if len(rows) > 1:
            raise AmbiguousRunId(run_id, [r["run_id"] for r in rows])
        return RunRecord.from_row(rows[0])

    def short_ids(self, run_ids: Sequence[str], minimum: int) -> dict[str, str]:
        """Each run id cut to the shortest prefix (at least ``minimum`` characters) that no
        other recorded run shares, so ``run`` resolves it. Runs started in one millisecond
        share a ULID's time and most of its randomness (the engine's ids are monotonic), so a
        fixed length is not enough; the runs that share most of an id are its neighbours in
        id order."""
        t = tables.runs

        def read(conn: sa.Connection) -> dict[str, str]:
            out = {}
            for run_id in run_ids:
                before = sa.select(t.c.run_id).where(t.c.run_id < run_id)
                after = sa.select(t.c.run_id).where(t.c.run_id > run_id)
                neighbours = [
                    conn.execute(before.order_by(t.c.run_id.desc()).limit(1)).scalar(),
                    conn.execute(after.order_by(t.c.run_id).limit(1)).scalar(),
                ]
                shared = [_shared_length(run_id, n) for n in neighbours if n]
                out[run_id] = run_id[: max([minimum, *(n + 1 for n in shared)])]
            return out

        return self.store.read(read)

    def steps(self, run_id: str) -> list[StepRecord]:
        t = tables.steps
        query = sa.select(t).where(t.c.run_id == run_id).order_by(t.c.finished_at, t.c.step_id)
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [StepRecord.from_row(r) for r in rows]

    def decisions(
        self, skill_id: str, since: float, until: float, *, version: int | None = None
    ) -> list[DecisionRecord]:
        t = tables.decisions
        query = (
            sa.select(t)
            .where(t.c.skill_id == skill_id, t.c.at >= since, t.c.at < until)
            .order_by(t.c.at, t.c.run_id, t.c.idx)
        )
        if version is not None:
            query = query.where(t.c.skill_version == version)
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [DecisionRecord.from_row(r) for r in rows]

    def decisions_of_runs(self, run_ids: list[str]) -> list[DecisionRecord]:
        """The decision records of these runs, by run and index (whatever their ``at``)."""
        if not run_ids:
            return []
        t = tables.decisions
        query = sa.select(t).where(t.c.run_id.in_(run_ids)).order_by(t.c.run_id, t.c.idx)
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [DecisionRecord.from_row(r) for r in rows]

    def rollups(
        self, *, since_day: str, until_day: str, skill: str | None = None
    ) -> list[DailyRollup]:
        """Daily counters with ``since_day <= day <= until_day`` (both ``YYYY-MM-DD``, UTC)."""
        t = tables.rollups
        query = (
            sa.select(t)
            .where(t.c.day >= since_day, t.c.day <= until_day)
            .order_by(t.c.skill_id, t.c.skill_version, t.c.day)
        )
        if skill:
            query = query.where(t.c.skill_id == skill)
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [DailyRollup.from_row(r) for r in rows]

    def skills_seen(self) -> list[str]:
        t = tables.rollups
        query = sa.select(t.c.skill_id).distinct().order_by(t.c.skill_id)
        return list(self.store.read(lambda conn: conn.execute(query).scalars().all()))

    def gaps(self, *, since: float | None = None) -> list[dict[str, Any]]:
        t = tables.gaps
        query = sa.select(t).order_by(t.c.id)
        if since is not None:
            query = query.where(t.c.at >= since)
        return [dict(r) for r in self.store.read(lambda c: c.execute(query).mappings().all())]


def _shared_length(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` have in common."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
