"""Overview: per service the latest health label and 24 h of error rate / p95 with the health
check's decisions marked; open incidents; skills awaiting approval; the heartbeat and whether
it is overdue; LLM spend against budgets; which parts are up."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import fastapi
from markupsafe import Markup
from starlette.responses import Response

from ..context import console_of, page
from ..ledger_runs import extras_for
from ..render import day
from ..runs_source import RunRow
from ._common import Outages
from .incidents import incidents

router = fastapi.APIRouter()


DAY_S = 86400
HEARTBEAT_EVERY_S = 30 * 60


def health_series(rows: list[RunRow]) -> dict[str, dict[str, Any]]:
    """{service: {label, reason, at, points: [[t, error_rate, p95, label], ...]}} oldest first."""
    services: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.started_at or 0):
        out = row.output if isinstance(row.output, dict) else {}
        for service, verdict in (out.get("services") or {}).items():
            if not isinstance(verdict, dict):
                continue
            features = verdict.get("features") or {}
            s = services.setdefault(service, {"points": []})
            s.update(label=verdict.get("label"), reason=verdict.get("reason"), at=row.started_at)
            s["points"].append(
                [
                    row.started_at,
                    (features.get("error_rate") or {}).get("now"),
                    (features.get("p95") or {}).get("now"),
                    verdict.get("label"),
                ]
            )
    return services


def decision_series(decisions: list[Any]) -> dict[str, dict[str, Any]]:
    """The same shape as ``health_series``, from the ledger's decision records."""
    services: dict[str, dict[str, Any]] = {}
    for d in sorted(decisions, key=lambda d: d.at):
        if not d.subject:
            continue
        features = d.features or {}
        s = services.setdefault(d.subject, {"points": []})
        s.update(label=d.label, reason=(d.detail or {}).get("reason") or d.decided_by, at=d.at)
        s["points"].append(
            [
                d.at,
                (features.get("error_rate") or {}).get("now"),
                (features.get("p95") or {}).get("now"),
                d.label,
            ]
        )
    return services


def _part_up(part: Any, path: str) -> asyncio.Task[bool]:
    return asyncio.ensure_future(part.up(path))


async def _health(console: Any, down: Outages, since: float) -> tuple[Any, Any, str]:
    """Each service's decisions over the day, and the skills' LLM spend by day (ledger only)."""
    extras = extras_for(console.runs)
    today = day(time.time())
    if extras is None:
        checks = await down.get(console.runs.runs(skill="health-check", since=since, limit=500), [])
        return health_series(checks), None, today
    decisions, spend = await asyncio.gather(
        extras.health_decisions("health-check", since, time.time()),
        extras.llm_spend(day(time.time() - 6 * DAY_S), today),
    )
    return decision_series(decisions), spend, today


@router.get("/")
async def overview(request: fastapi.Request) -> Response:
    console = console_of(request)
    down = Outages()
    since = time.time() - DAY_S
    engine_up = _part_up(console.engine, "/health")
    sidecar_up = _part_up(console.sidecar, "/v1/status")
    agent_up = _part_up(console.agent, "/v1/status")
    # Every read at once: the page costs the slowest part, not the sum of them.
    (
        (series, skill_spend, today),
        beats,
        skills,
        agent_status,
        conversations,
        found,
    ) = await asyncio.gather(
        _health(console, down, since),
        down.get(console.runs.runs(skill="heartbeat", limit=1), []),
        down.if_up(sidecar_up, console.sidecar.skills(), []),
        down.if_up(agent_up, console.agent.status(), {}),
        down.if_up(agent_up, console.agent.conversations(), []),
        incidents(request, open_only=True, evidence=False),
    )
    last_beat = beats[0] if beats else None
    overdue = (
        last_beat is None or (time.time() - (last_beat.started_at or 0)) > 2 * HEARTBEAT_EVERY_S
    )
    day_start = time.time() - time.time() % DAY_S
    spend_today = sum(
        c.get("cost_usd") or 0 for c in conversations if (c.get("updated_at") or 0) >= day_start
    )
    spend_week = sum(
        c.get("cost_usd") or 0
        for c in conversations
        if (c.get("updated_at") or 0) >= time.time() - 7 * DAY_S
    )
    return page(
        request,
        "overview.html",
        parts={"engine": await engine_up, "sidecar": await sidecar_up, "agent": await agent_up},
        series=series,
        chart_data=Markup(json.dumps(series).replace("<", "\\u003c")),
        incidents=found,
        awaiting=[s for s in skills if s.get("awaiting_approval")],
        last_beat=last_beat,
        overdue=overdue,
        budget=agent_status.get("budget") or {},
        spend_today=spend_today,
        spend_week=spend_week,
        skill_spend_today=None if skill_spend is None else skill_spend.get(today, 0.0),
        skill_spend_week=None if skill_spend is None else sum(skill_spend.values()),
        outages=down.messages,
    )
