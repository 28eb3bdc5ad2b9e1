"""Run history from the platform's run ledger (``loopwright.ledger``), behind ``RunSource``.

The ledger is written by SDK middleware in every app, so it reads the same on the embedded
engine and on real Inngest; it is the source the CLI and the review use too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .parts import NotFound
from .runs_source import RunRow, StepRow


class LedgerRuns:
    name = "run ledger"

    def __init__(self, store: Any | None = None) -> None:
        from loopwright.ledger import LedgerReader
        from loopwright.store import open_store

        self.store = store if store is not None else open_store()
        self.reader = LedgerReader(self.store)

    async def runs(
        self,
        *,
        skill: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[RunRow]:
        rows = await asyncio.to_thread(
            self.reader.runs, skill=skill, status=status, since=since, until=until, limit=limit
        )
        return [_run(r) for r in rows]

    async def run(self, run_id: str) -> RunRow:
        from loopwright.ledger import AmbiguousRunId, RunNotFound

        try:
            return _run(await asyncio.to_thread(self.reader.run, run_id))
        except (RunNotFound, AmbiguousRunId) as err:
            raise NotFound(f"run {run_id!r} ({err})") from None

    async def steps(self, run_id: str) -> list[StepRow]:
        rows = await asyncio.to_thread(self.reader.steps, run_id)
        return [
            StepRow(
                step_id=s.step_id,
                name=s.name,
                op=s.op,
                status=s.status,
                attempt=s.attempt,
                started_at=s.started_at,
                duration_ms=s.duration_ms,
                error_message=s.error_message,
                output=getattr(s, "output", None),
            )
            for s in rows
        ]


def _run(r: Any) -> RunRow:
    return RunRow(
        run_id=r.run_id,
        function_id=r.function_id,
        skill_id=r.skill_id,
        status=r.status,
        started_at=r.started_at,
        ended_at=r.ended_at,
        duration_ms=r.duration_ms,
        attempts=r.attempts or 1,
        trigger=r.trigger,
        event_id=r.event_id,
        event_name=r.event_name,
        cron=r.cron,
        error_message=r.error_message,
        llm_calls=r.llm_calls or 0,
        cost_usd=r.cost_usd or 0.0,
        output=r.output,
    )


class LedgerExtras:
    """What only the ledger knows: skills' decision records and daily LLM spend."""

    def __init__(self, runs: LedgerRuns) -> None:
        self.reader = runs.reader

    async def health_decisions(self, skill_id: str, since: float, until: float) -> list[Any]:
        return list(await asyncio.to_thread(self.reader.decisions, skill_id, since, until))

    async def outcomes(self, since_day: str, until_day: str) -> dict[str, dict[str, Any]]:
        """Per skill over the days: finished runs, completed ones, the last day it ran."""
        rollups = await asyncio.to_thread(
            self.reader.rollups, since_day=since_day, until_day=until_day
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rollups:
            s = out.setdefault(r.skill_id, {"done": 0, "ok": 0, "last_day": r.day})
            s["done"] += r.completed + r.failed + r.cancelled
            s["ok"] += r.completed
            s["last_day"] = max(s["last_day"], r.day)
        return out

    async def llm_spend(self, since_day: str, until_day: str) -> dict[str, float]:
        """{day: USD} of every skill's LLM calls."""
        rollups = await asyncio.to_thread(
            self.reader.rollups, since_day=since_day, until_day=until_day
        )
        spend: dict[str, float] = {}
        for r in rollups:
            spend[r.day] = spend.get(r.day, 0.0) + (r.cost_usd or 0.0)
        return spend


def extras_for(runs: Any) -> LedgerExtras | None:
    """The ledger's extras when run history comes from the ledger."""
    return LedgerExtras(runs) if isinstance(runs, LedgerRuns) else None
