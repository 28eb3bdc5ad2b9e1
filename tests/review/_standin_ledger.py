"""A minimal stand-in of ``loopwright.store`` and ``loopwright.ledger`` (STORE_LEDGER_SPEC.md).

Only until the lead's store layer lands on main; ``conftest.py`` installs it when the real
modules cannot be imported. Delete after ``git merge main``.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
metadata = sa.MetaData()


class Store:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")

        self.dialect = self.engine.dialect.name
        metadata.create_all(self.engine)

    def ensure(self, *tables: Any) -> None:
        metadata.create_all(self.engine)

    def write(self, fn: Callable[[sa.Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)


def open_store(url: str | None = None) -> Store:
    import os

    return Store(url or os.environ.get("LOOPWRIGHT_STORE_URL", "sqlite:///var/platform.db"))


def insert_ignore(table: sa.Table, values: dict[str, Any]) -> Any:
    from sqlalchemy.dialects.sqlite import insert

    return insert(table).values(**values).on_conflict_do_nothing()


def upsert(
    table: sa.Table, values: dict[str, Any], key_cols: list[str], update_cols: list[str]
) -> Any:
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=key_cols, set_={c: stmt.excluded[c] for c in update_cols}
    )


runs_t = sa.Table(
    "standin_runs",
    metadata,
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("skill_id", sa.String),
    sa.Column("skill_version", sa.Integer),
    sa.Column("started_at", sa.Float),
    sa.Column("data", sa.JSON),
)
decisions_t = sa.Table(
    "standin_decisions",
    metadata,
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("index", sa.Integer, primary_key=True),
    sa.Column("skill_id", sa.String),
    sa.Column("skill_version", sa.Integer),
    sa.Column("at", sa.Float),
    sa.Column("data", sa.JSON),
)
rollups_t = sa.Table(
    "standin_rollups",
    metadata,
    sa.Column("skill_id", sa.String, primary_key=True),
    sa.Column("skill_version", sa.Integer, primary_key=True),
    sa.Column("day", sa.String, primary_key=True),
    sa.Column("data", sa.JSON),
)


@dataclasses.dataclass
class RunRecord:
    run_id: str
    app_id: str = "loopwright-skills"
    function_id: str = ""
    skill_id: str | None = None
    skill_version: int | None = None
    trigger: str = "cron"
    event_name: str | None = None
    event_id: str | None = None
    cron: str | None = None
    status: str = "completed"
    started_at: float = 0.0
    ended_at: float | None = None
    duration_ms: float | None = None
    attempts: int = 1
    error_code: str | None = None
    error_message: str | None = None
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    fallback: bool = False
    output: Any = None


@dataclasses.dataclass
class StepRecord:
    run_id: str
    step_id: str
    name: str = ""
    op: str = "step"
    status: str = "completed"
    attempt: int = 1
    started_at: float = 0.0
    duration_ms: float = 0.0
    error_code: str | None = None
    error_message: str | None = None


@dataclasses.dataclass
class DecisionRecord:
    run_id: str
    skill_id: str
    skill_version: int | None
    index: int
    at: float
    subject: str
    label: str
    decided_by: str = "rules"
    fallback: bool = False
    features: dict[str, Any] = dataclasses.field(default_factory=dict)
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DailyRollup:
    skill_id: str
    skill_version: int | None
    day: str
    runs: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0
    fallbacks: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0
    duration_sum_ms: float = 0.0
    duration_hist: dict[str, int] = dataclasses.field(default_factory=dict)


class RunNotFound(LookupError):
    pass


class AmbiguousRunId(LookupError):
    pass


def _bucket(ms: float) -> str:
    bound = 1
    steps = (1, 2, 5)
    i = 0
    while bound < ms:
        i += 1
        bound = steps[i % 3] * 10 ** (i // 3)
    return str(bound)


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d")


class LedgerWriter:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record_run(
        self,
        run: RunRecord,
        steps: list[StepRecord] | None = None,
        decisions: list[DecisionRecord] | None = None,
    ) -> None:
        def write(conn: sa.Connection) -> None:
            fresh = conn.execute(
                insert_ignore(
                    runs_t,
                    {
                        "run_id": run.run_id,
                        "skill_id": run.skill_id,
                        "skill_version": run.skill_version,
                        "started_at": run.started_at,
                        "data": dataclasses.asdict(run),
                    },
                )
            ).rowcount
            for d in decisions or []:
                conn.execute(
                    insert_ignore(
                        decisions_t,
                        {
                            "run_id": d.run_id,
                            "index": d.index,
                            "skill_id": d.skill_id,
                            "skill_version": d.skill_version,
                            "at": d.at,
                            "data": dataclasses.asdict(d),
                        },
                    )
                )
            if not fresh or run.skill_id is None:
                return
            day = _day(run.started_at)
            key = (
                (rollups_t.c.skill_id == run.skill_id)
                & (rollups_t.c.skill_version == run.skill_version)
                & (rollups_t.c.day == day)
            )
            row = conn.execute(sa.select(rollups_t.c.data).where(key)).first()
            r = DailyRollup(**row[0]) if row else DailyRollup(run.skill_id, run.skill_version, day)
            r.runs += 1
            r.completed += run.status == "completed"
            r.failed += run.status == "failed"
            r.cancelled += run.status == "cancelled"
            r.retried += run.attempts > 1
            r.fallbacks += bool(run.fallback)
            r.llm_calls += run.llm_calls
            r.cost_usd += run.cost_usd
            ms = run.duration_ms or 0.0
            r.duration_sum_ms += ms
            b = _bucket(ms)
            r.duration_hist[b] = r.duration_hist.get(b, 0) + 1
            conn.execute(
                upsert(
                    rollups_t,
                    {
                        "skill_id": r.skill_id,
                        "skill_version": r.skill_version,
                        "day": day,
                        "data": dataclasses.asdict(r),
                    },
                    ["skill_id", "skill_version", "day"],
                    ["data"],
                )
            )

        self.store.write(write)


class LedgerReader:
    def __init__(self, store: Store) -> None:
        self.store = store

    def runs(
        self,
        skill: str | None = None,
        function: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
        before: float | None = None,
    ) -> list[RunRecord]:
        q = sa.select(runs_t.c.data).order_by(runs_t.c.started_at.desc()).limit(limit)
        if skill:
            q = q.where(runs_t.c.skill_id == skill)
        if since is not None:
            q = q.where(runs_t.c.started_at >= since)
        if until is not None:
            q = q.where(runs_t.c.started_at < until)
        if before is not None:
            q = q.where(runs_t.c.started_at < before)
        rows = self.store.read(lambda c: c.execute(q).all())
        out = [RunRecord(**r[0]) for r in rows]
        return [
            r
            for r in out
            if (status is None or r.status == status)
            and (function is None or r.function_id == function)
        ]

    def run(self, run_id: str) -> RunRecord:
        q = sa.select(runs_t.c.data).where(runs_t.c.run_id.like(f"{run_id}%"))
        rows = self.store.read(lambda c: c.execute(q).all())
        if not rows:
            raise RunNotFound(run_id)
        if len(rows) > 1:
            raise AmbiguousRunId(run_id)
        return RunRecord(**rows[0][0])

    def decisions(
        self, skill_id: str, since: float, until: float, version: int | None = None
    ) -> list[DecisionRecord]:
        q = (
            sa.select(decisions_t.c.data)
            .where(
                (decisions_t.c.skill_id == skill_id)
                & (decisions_t.c.at >= since)
                & (decisions_t.c.at < until)
            )
            .order_by(decisions_t.c.at, decisions_t.c.index)
        )
        if version is not None:
            q = q.where(decisions_t.c.skill_version == version)
        return [DecisionRecord(**r[0]) for r in self.store.read(lambda c: c.execute(q).all())]

    def rollups(
        self, skill: str | None = None, since_day: str | None = None, until_day: str | None = None
    ) -> list[DailyRollup]:
        q = sa.select(rollups_t.c.data)
        if skill:
            q = q.where(rollups_t.c.skill_id == skill)
        if since_day:
            q = q.where(rollups_t.c.day >= since_day)
        if until_day:
            q = q.where(rollups_t.c.day <= until_day)
        return [DailyRollup(**r[0]) for r in self.store.read(lambda c: c.execute(q).all())]

    def skills_seen(self) -> list[str]:
        q = sa.select(runs_t.c.skill_id).distinct()
        return sorted(r[0] for r in self.store.read(lambda c: c.execute(q).all()) if r[0])


def install() -> None:
    """Register the stand-in as ``loopwright.store`` / ``loopwright.ledger`` if they are missing."""
    try:
        import loopwright.ledger
        import loopwright.store  # noqa: F401
    except ImportError:
        me = sys.modules[__name__]
        store_mod = types.ModuleType("loopwright.store")
        ledger_mod = types.ModuleType("loopwright.ledger")
        for name in ("Store", "open_store", "metadata", "insert_ignore", "upsert"):
            setattr(store_mod, name, getattr(me, name))
        for name in (
            "LedgerReader",
            "LedgerWriter",
            "RunRecord",
            "StepRecord",
            "DecisionRecord",
            "DailyRollup",
            "RunNotFound",
            "AmbiguousRunId",
        ):
            setattr(ledger_mod, name, getattr(me, name))
        sys.modules["loopwright.store"] = store_mod
        sys.modules["loopwright.ledger"] = ledger_mod
        _ = math
