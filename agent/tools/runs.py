"""Events and runs: send an event to trigger a skill, and read how its runs went.

Events go through the engine's REST API (or Inngest's, under the same routes); runs are read
from the platform's run ledger, which works on either. ``loopwright/*`` and ``inngest/*``
events belong to the platform and are refused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pydantic

from agent.errors import ServiceUnavailable, ToolFailed
from loopwright.ledger import LedgerReader

from .base import Args, Tool, ToolResult
from .services import EngineClient
from .skills import SkillId

RESERVED_PREFIXES = ("inngest/", "loopwright/")


class SendEventArgs(Args):
    name: str = pydantic.Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+$",
        max_length=128,
        description="an event name like 'health/incident.opened'",
    )
    data: dict[str, Any] = pydantic.Field(default_factory=dict, description="the event data")


class SkillRunsArgs(Args):
    id: SkillId
    limit: int = pydantic.Field(default=10, ge=1, le=50)


class RunTools:
    def __init__(self, engine: EngineClient | None, ledger: LedgerReader | None = None) -> None:
        """``engine=None``: offline (the eval), where nothing may reach the platform."""
        self.engine = engine
        self.ledger = ledger

    def _engine(self) -> EngineClient:
        if self.engine is None:
            raise ServiceUnavailable("events and runs are not available offline (eval mode)")
        return self.engine

    def tools(self) -> list[Tool]:
        return [
            Tool(
                "send_event",
                "Send an event to the platform (to trigger an event-driven skill).",
                SendEventArgs,
                self.send_event,
            ),
            Tool(
                "skill_runs",
                "A summary of a skill's recent runs: counts by status, the latest runs and "
                "their errors.",
                SkillRunsArgs,
                self.skill_runs,
            ),
        ]

    def send_event(self, args: SendEventArgs) -> ToolResult:
        if args.name.startswith(RESERVED_PREFIXES):
            raise ToolFailed(
                f"{args.name!r}: events under {' and '.join(RESERVED_PREFIXES)} belong to the "
                "platform; use your own prefix, like 'health/...'"
            )
        ids = self._engine().send_event(args.name, args.data)
        return ToolResult.success({"sent": args.name, "ids": ids})

    def skill_runs(self, args: SkillRunsArgs) -> ToolResult:
        if self.engine is None or self.ledger is None:
            raise ServiceUnavailable("runs are not available offline (eval mode)")
        runs = self.ledger.runs(skill=args.id, limit=args.limit)
        by_status = Counter(r.status for r in runs)
        latest = [
            {
                "run_id": r.run_id,
                "version": r.skill_version,
                "status": r.status,
                "started_at": r.started_at,
                "duration_ms": r.duration_ms,
                "attempts": r.attempts,
                "error": r.error_message,
                "output": _clip(r.output),
            }
            for r in runs[:5]
        ]
        return ToolResult.success(
            {"skill": args.id, "runs": len(runs), "by_status": dict(by_status), "latest": latest}
        )


def _clip(value: Any, limit: int = 600) -> Any:
    text = str(value)
    return value if len(text) <= limit else text[: limit - 1] + "…"
