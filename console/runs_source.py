"""Where the console reads run history: one small interface, so switching source is one place.

``EngineHistoryRuns`` reads the engine's history API through the CLI's own client
(``loopwright/history_client.py``); the run ledger (``loopwright.ledger``) slots in behind the
same ``RunSource`` when it is installed. Rows use the ledger's field names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Protocol

from loopwright.engine_client import EngineClient, EngineTarget

from .parts import engine_call

STATUSES = ("running", "completed", "failed", "cancelled")
#: The app ids whose functions are skills: their slug minus this prefix is the skill id.
SKILL_APPS = ("loopwright-skills-",)


@dataclasses.dataclass(frozen=True)
class RunRow:
    run_id: str
    function_id: str
    skill_id: str | None
    status: str
    started_at: float | None
    ended_at: float | None
    duration_ms: float | None
    attempts: int = 1
    trigger: str = "event"
    event_id: str | None = None
    event_name: str | None = None
    cron: str | None = None
    error_message: str | None = None
    llm_calls: int = 0
    cost_usd: float = 0.0
    output: Any = None


@dataclasses.dataclass(frozen=True)
class StepRow:
    step_id: str
    name: str
    op: str
    status: str
    attempt: int
    started_at: float | None
    duration_ms: float | None
    error_message: str | None = None
    output: Any = None


class RunSource(Protocol):
    name: str

    async def runs(
        self,
        *,
        skill: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[RunRow]: ...

    async def run(self, run_id: str) -> RunRow: ...

    async def steps(self, run_id: str) -> list[StepRow]: ...


def _epoch(ts: str | None) -> float | None:
    if not ts:
        return None
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def skill_of(slug: str) -> str | None:
    for prefix in SKILL_APPS:
        if slug.startswith(prefix):
            return slug.removeprefix(prefix)
    return None


def _error_text(output: Any) -> str | None:
    if isinstance(output, dict) and ("error" in output or "message" in output):
        err = output.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("name") or err)
        return str(output.get("message") or err)
    return None


class EngineHistoryRuns:
    """The embedded engine's run history through the platform's one engine client (the
    fallback when the run ledger is not installed)."""

    name = "engine history"

    def __init__(self, engine_url: str) -> None:
        self.history = EngineClient(EngineTarget.from_env(url=engine_url), timeout_s=10)
        self.url = engine_url

    def close(self) -> None:
        self.history.close()

    async def _call(self, fn: Any, *args: Any, what: str = "", **kwargs: Any) -> Any:
        return await engine_call(self.url, fn, *args, what=what, **kwargs)

    async def runs(
        self,
        *,
        skill: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[RunRow]:
        rows = await self._call(
            self.history.runs,
            function=f"{SKILL_APPS[0]}{skill}" if skill else None,
            status=status.capitalize() if status else None,
            limit=min(limit, 500),
        )
        out = [self._row(r) for r in rows]
        return [
            r for r in out
            if (since is None or (r.started_at or 0) >= since)
            and (until is None or (r.started_at or 0) < until)
        ]  # fmt: skip

    async def run(self, run_id: str) -> RunRow:
        row = await self._call(self.history.run, run_id, what=f"run {run_id!r}")
        return self._row(row)

    async def steps(self, run_id: str) -> list[StepRow]:
        rows = await self._call(self.history.steps, run_id, what=f"run {run_id!r}")
        out = []
        for s in rows:
            started, ended = _epoch(s.get("started_at")), _epoch(s.get("ended_at"))
            out.append(
                StepRow(
                    step_id=str(s.get("id")),
                    name=str(s.get("name") or s.get("id")),
                    op=str(s.get("kind") or "step"),
                    status=str(s.get("status") or "").lower(),
                    attempt=int(s.get("attempts") or 1),
                    started_at=started,
                    duration_ms=(ended - started) * 1000 if started and ended else None,
                    error_message=_error_text(s.get("error")) if s.get("error") else None,
                    output=s.get("error") if s.get("error") is not None else s.get("output"),
                )
            )
        return out

    @staticmethod
    def _row(r: dict[str, Any]) -> RunRow:
        started, ended = _epoch(r.get("run_started_at")), _epoch(r.get("ended_at"))
        slug = str(r.get("function_slug") or r.get("function_id"))
        status = str(r.get("status") or "").lower()
        output = r.get("output")
        return RunRow(
            run_id=str(r["run_id"]),
            function_id=slug,
            skill_id=skill_of(slug),
            status=status,
            started_at=started,
            ended_at=ended,
            duration_ms=(ended - started) * 1000 if started and ended else None,
            trigger="cron" if r.get("cron") else "event",
            event_id=r.get("event_id"),
            cron=r.get("cron"),
            error_message=_error_text(output) if status == "failed" else None,
            output=output,
        )
