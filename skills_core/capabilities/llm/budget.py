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
import sqlite3
import time

from ..errors import LLMBudgetExceeded
from ..grant import Grant
from ..settings import ModelPrice
from ..store import CapabilityStore

WEEK_S = 7 * 24 * 3600
#: Characters per token, on the cautious side (English averages ~4) so estimates run high.
CHARS_PER_TOKEN = 3
#: Tokens a chat message costs beyond its text (role, separators).
MESSAGE_OVERHEAD_TOKENS = 8


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

        def run(db: sqlite3.Connection) -> Reservation:
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
            cursor = db.execute(
                "INSERT INTO llm_usage (skill_id, run_id, role, model, state, reserved_usd, "
                "created_at) VALUES (?, ?, ?, ?, 'reserved', ?, ?)",
                (skill, run_id, role, model, usd, now),
            )
            return Reservation(id=int(cursor.lastrowid or 0), usd=usd)

        return self._store.write(run)

    def _committed(
        self,
        db: sqlite3.Connection,
        skill: str,
        now: float,
        *,
        run_id: str | None = None,
        since: float = 0.0,
    ) -> float:
        row = db.execute(
            "SELECT COALESCE(SUM(CASE WHEN state = 'settled' THEN usd "
            "WHEN state = 'reserved' AND created_at > ? THEN reserved_usd ELSE 0 END), 0) "
            "FROM llm_usage WHERE skill_id = ? AND created_at >= ? AND (? IS NULL OR run_id = ?)",
            (now - self._ttl, skill, since, run_id, run_id),
        ).fetchone()
        return float(row[0])

    def settle(
        self, reservation: Reservation, *, usd: float, input_tokens: int, output_tokens: int
    ) -> None:
        self._store.write(
            lambda db: db.execute(
                "UPDATE llm_usage SET state = 'settled', usd = ?, input_tokens = ?, "
                "output_tokens = ?, settled_at = ? WHERE id = ?",
                (usd, input_tokens, output_tokens, time.time(), reservation.id),
            )
        )

    def release(self, reservation: Reservation) -> None:
        """The call produced no usage (refused, unreachable): free the reservation."""
        self._store.write(
            lambda db: db.execute(
                "UPDATE llm_usage SET state = 'released', settled_at = ? WHERE id = ?",
                (time.time(), reservation.id),
            )
        )

    def spent_by_run(self, run_id: str) -> Spend:
        """Settled spend and tokens of one run, whichever skill made it."""
        row = self._store.read(
            lambda db: db.execute(
                "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(input_tokens), 0), "
                "COALESCE(SUM(output_tokens), 0), COUNT(*) FROM llm_usage "
                "WHERE state = 'settled' AND run_id = ?",
                (run_id,),
            ).fetchone()
        )
        return Spend(float(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def spent(self, skill_id: str, *, run_id: str | None = None, since: float = 0.0) -> Spend:
        """Settled spend and tokens of a skill (optionally one run, or since a time)."""
        row = self._store.read(
            lambda db: db.execute(
                "SELECT COALESCE(SUM(usd), 0), COALESCE(SUM(input_tokens), 0), "
                "COALESCE(SUM(output_tokens), 0), COUNT(*) FROM llm_usage "
                "WHERE state = 'settled' AND skill_id = ? AND created_at >= ? "
                "AND (? IS NULL OR run_id = ?)",
                (skill_id, since, run_id, run_id),
            ).fetchone()
        )
        return Spend(
            usd=float(row[0]),
            input_tokens=int(row[1]),
            output_tokens=int(row[2]),
            calls=int(row[3]),
        )
