"""LLM budgets: reserve the worst case before a call, settle the real cost after.

A call is allowed only if the skill's spend in this run, and in the rolling last seven days,
plus this call's worst case (estimated prompt tokens and ``max_tokens`` at the model's price)
stays within its grant. The reservation is committed before the request goes out, so
concurrent runs cannot overspend together; after the answer it is settled to the real token
usage. A reservation whose caller died is ignored once older than ``reservation_ttl_s``.
Every settled row keeps model and token counts: that is the usage record the review loop and
the console read.
"""

from __future__ import annotations

import dataclasses
import time

import sqlalchemy as sa

from loopwright.store import metadata

from ..errors import LLMBudgetExceeded
from ..grant import Grant
from ..settings import ModelPrice
from ..store import CapabilityStore

WEEK_S = 7 * 24 * 3600
#: Characters per token, on the cautious side (English averages ~4) so estimates run high.
CHARS_PER_TOKEN = 3
#: Tokens a chat message costs beyond its text (role, separators).
MESSAGE_OVERHEAD_TOKENS = 8

usage = sa.Table(
    "llm_usage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("skill_id", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),  # reserved | settled | released
    sa.Column("reserved_usd", sa.Float, nullable=False),
    sa.Column("usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("settled_at", sa.Float),
    sa.Index("llm_usage_skill_time", "skill_id", "created_at"),
    sa.Index("llm_usage_skill_run", "skill_id", "run_id"),
    sqlite_autoincrement=True,
)

#: Settled spend and tokens, and the number of calls, of the rows a query selects.
_SETTLED_SUMS = (
    sa.func.coalesce(sa.func.sum(usage.c.usd), 0),
    sa.func.coalesce(sa.func.sum(usage.c.input_tokens), 0),
    sa.func.coalesce(sa.func.sum(usage.c.output_tokens), 0),
    sa.func.count(),
)


def estimate_tokens(*texts: str) -> int:
    return sum(len(t) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS for t in texts)


def cost_usd(price: ModelPrice, input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6


@dataclasses.dataclass(frozen=True)
class Reservation:
    id: int
    usd: float


@dataclasses.dataclass(frozen=True)
class Spend:
    usd: float
    input_tokens: int
    output_tokens: int
    calls: int


class BudgetLedger:
    def __init__(self, store: CapabilityStore, reservation_ttl_s: float) -> None:
        self._store = store
        self._ttl = reservation_ttl_s

    def reserve(
        self, grant: Grant, run_id: str, *, role: str, model: str, usd: float
    ) -> Reservation:
        budget = grant.llm_budget()
        skill = grant.skill_id

        def run(db: sa.Connection) -> Reservation:
            now = time.time()
            in_run = self._committed(db, skill, now, run_id=run_id)
            in_week = self._committed(db, skill, now, since=now - WEEK_S)
            if in_run + usd > budget.per_run_usd:
                raise LLMBudgetExceeded(
                    f"skill {skill!r} run {run_id!r} has committed ${in_run:.4f} of its "
                    f"${budget.per_run_usd} per-run LLM budget; this call may cost ${usd:.4f}",
                    scope="run",
                )
            if in_week + usd > budget.per_week_usd:
                raise LLMBudgetExceeded(
                    f"skill {skill!r} has committed ${in_week:.4f} of its "
                    f"${budget.per_week_usd} weekly LLM budget; this call may cost ${usd:.4f}",
                    scope="week",
                )
            inserted = db.execute(
                usage.insert()
                .returning(usage.c.id)
                .values(
                    skill_id=skill,
                    run_id=run_id,
                    role=role,
                    model=model,
                    state="reserved",
                    reserved_usd=usd,
                    created_at=now,
                )
            )
            return Reservation(id=int(inserted.scalar_one()), usd=usd)

        return self._store.write(run)

    def _committed(
        self,
        db: sa.Connection,
        skill: str,
        now: float,
        *,
        run_id: str | None = None,
        since: float = 0.0,
    ) -> float:
        live = sa.case(
            (usage.c.state == "settled", usage.c.usd),
            (
                sa.and_(usage.c.state == "reserved", usage.c.created_at > now - self._ttl),
                usage.c.reserved_usd,
            ),
            else_=0.0,
        )
        query = sa.select(sa.func.coalesce(sa.func.sum(live), 0.0)).where(
            usage.c.skill_id == skill, usage.c.created_at >= since
        )
        if run_id is not None:
            query = query.where(usage.c.run_id == run_id)
        return float(db.execute(query).scalar_one())

    def settle(
        self, reservation: Reservation, *, usd: float, input_tokens: int, output_tokens: int
    ) -> None:
        settled = usage.update().where(usage.c.id == reservation.id)
        settled = settled.values(
            state="settled",
            usd=usd,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            settled_at=time.time(),
        )
        self._store.write(lambda db: db.execute(settled))

    def release(self, reservation: Reservation) -> None:
        """The call produced no usage (refused, unreachable): free the reservation."""
        released = usage.update().where(usage.c.id == reservation.id)
        released = released.values(state="released", settled_at=time.time())
        self._store.write(lambda db: db.execute(released))

    def spent_by_run(self, run_id: str) -> Spend:
        """Settled spend and tokens of one run, whichever skill made it."""
        return self._spend(usage.c.run_id == run_id)

    def spent(self, skill_id: str, *, run_id: str | None = None, since: float = 0.0) -> Spend:
        """Settled spend and tokens of a skill (optionally one run, or since a time)."""
        where = [usage.c.skill_id == skill_id, usage.c.created_at >= since]
        if run_id is not None:
            where.append(usage.c.run_id == run_id)
        return self._spend(*where)

    def _spend(self, *where: sa.ColumnElement[bool]) -> Spend:
        query = sa.select(*_SETTLED_SUMS).where(usage.c.state == "settled", *where)
        row = self._store.read(lambda db: db.execute(query).one())
        return Spend(
            usd=float(row[0]),
            input_tokens=int(row[1]),
            output_tokens=int(row[2]),
            calls=int(row[3]),
        )
