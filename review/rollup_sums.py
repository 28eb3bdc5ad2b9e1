"""The rollup figures scorecards need, summed by the database.

``LedgerReader.rollups`` hands out one ``DailyRollup`` per row (a histogram dict each); a
week of 200 skills is ~1,400 rows, and building them costs more than the whole 50 ms budget.
The scorecards need less: per (skill, version) the window's sums (counters and histogram
buckets), and per day only runs, completed, cost and the runs within the latency budget.
Two grouped reads of the ledger's rollup table (read only; the ledger owns and writes it).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import sqlalchemy as sa

from loopwright.ledger import tables as ledger_tables
from loopwright.ledger.histogram import BOUNDS_MS, BUCKET_COLUMNS, label

COUNTERS = ("runs", "completed", "failed", "cancelled", "retried", "fallbacks", "llm_calls",
            "cost_usd", "duration_sum_ms")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Day:
    day: str
    runs: int
    completed: int
    cost_usd: float
    within_latency: int


@dataclasses.dataclass
class Sums:
    totals: dict[str, float]
    hist: dict[str, int]
    days: list[Day]


def read(
    store: Any, first_day: str, last_day: str, window: set[str], latency_ms: float,
    skill: str | None = None,
) -> tuple[dict[tuple[str, int], Sums], dict[tuple[str, int], list[Day]]]:  # fmt: skip
    """(sums over ``window`` days, per-day rows over first_day..last_day) by (skill, version)."""
    t = ledger_tables.rollups
    where = [t.c.day >= first_day, t.c.day <= last_day]
    if skill:
        where.append(t.c.skill_id == skill)
    fast = [t.c[c] for b, c in zip(BOUNDS_MS, BUCKET_COLUMNS, strict=True) if b <= latency_ms]
    within = sum(fast[1:], fast[0]) if fast else sa.literal(0)
    key = (t.c.skill_id, t.c.skill_version)
    per_day = sa.select(*key, t.c.day, t.c.runs, t.c.completed, t.c.cost_usd, within).where(
        *where).order_by(*key, t.c.day)  # fmt: skip
    in_window = [*where[2:], t.c.day.in_(sorted(window))]
    sums = sa.select(
        *key,
        *(sa.func.sum(t.c[c]) for c in COUNTERS),
        *(sa.func.sum(t.c[c]) for c in BUCKET_COLUMNS),
    ).where(*in_window).group_by(*key)  # fmt: skip

    def run(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
        return list(conn.execute(per_day).all()), list(conn.execute(sums).all())

    day_rows, sum_rows = store.read(run)
    # Rows come ordered by skill, version and day: one pass groups them, no sorting after.
    days: dict[tuple[str, int], list[Day]] = {}
    for (s, v), rows in itertools.groupby(day_rows, key=lambda r: (r[0], r[1])):
        days[(s, v)] = [Day(r[2], r[3], r[4], r[5], int(r[6] or 0)) for r in rows]
    out: dict[tuple[str, int], Sums] = {}
    n = len(COUNTERS)
    labels = [label(c) for c in BUCKET_COLUMNS]
    for row in sum_rows:
        at = (row[0], row[1])
        totals = dict(zip(COUNTERS, (float(x or 0) for x in row[2 : 2 + n]), strict=True))
        hist = {b: int(c) for b, c in zip(labels, row[2 + n :], strict=True) if c}
        out[at] = Sums(totals, hist, [d for d in days.get(at, ()) if d.day in window])
    return out, days
