"""Runs: a live list (Server-Sent Events: new runs appear, statuses change, no reload), filters
(skill, status, time range), lookup by id; a run's page (step timeline to scale, collapsible
JSON, errors, attempts, LLM cost) with cancel and rerun (the same event again)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import fastapi
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from ..context import console_of, page, session_of
from ..parts import PartDown, Refused, engine_call
from ..runs_source import STATUSES, RunRow
from ._common import Outages, attempt

router = fastapi.APIRouter()
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
HEARTBEAT_S = 15.0


def _filters(skill: str | None, status: str | None, since: str | None) -> dict[str, str]:
    return {
        "skill": (skill or "").strip(),
        "status": status if status in STATUSES else "",
        "since": since if since in RANGES else "",
    }


@router.get("/runs")
async def runs_list(
    request: fastapi.Request,
    skill: str | None = None,
    status: str | None = None,
    since: str | None = None,
    lookup: str | None = None,
) -> Response:
    console = console_of(request)
    if lookup and lookup.strip():
        return RedirectResponse(f"/runs/{lookup.strip()}", status_code=303)
    f = _filters(skill, status, since)
    down = Outages()
    rows = await down.get(
        console.runs.runs(
            skill=f["skill"] or None,
            status=f["status"] or None,
            since=time.time() - RANGES[f["since"]] if f["since"] else None,
            limit=50,
        ),
        [],
    )
    return page(
        request,
        "runs.html",
        rows=rows,
        filters=f,
        statuses=STATUSES,
        ranges=list(RANGES),
        outages=down.messages,
        source=console.runs.name,
    )


def _matches(row: RunRow, f: dict[str, str]) -> bool:
    if f["skill"] and f["skill"] not in (row.skill_id, row.function_id):
        return False
    if f["status"] and row.status != f["status"]:
        return False
    return not (f["since"] and (row.started_at or 0) < time.time() - RANGES[f["since"]])


@router.get("/runs/stream")
async def runs_stream(
    request: fastapi.Request,
    skill: str | None = None,
    status: str | None = None,
    since: str | None = None,
) -> StreamingResponse:
    console = console_of(request)
    f = _filters(skill, status, since)
    row_template = console.templates.env.get_template("_run_row.html")

    async def stream() -> AsyncIterator[bytes]:
        async with console.feed.subscribe() as queue:
            yield b"retry: 1000\n\n"
            while not await request.is_disconnected():
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if isinstance(item, str):
                    yield _sse("down", {"message": item})
                    continue
                for row in item:
                    if _matches(row, f):
                        html = row_template.render(run=row)
                        yield _sse("run", {"id": row.run_id, "html": html})

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(kind: str, data: dict[str, str]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


@router.get("/runs/{run_id}")
async def run_page(request: fastapi.Request, run_id: str) -> Response:
    console = console_of(request)
    run = await console.runs.run(run_id)
    steps = await console.runs.steps(run.run_id)
    begin = run.started_at or 0
    end = run.ended_at or time.time()
    for s in steps:
        if s.started_at and s.duration_ms is not None:
            end = max(end, s.started_at + s.duration_ms / 1000)
    span = max(end - begin, 0.001)
    bars = []
    for s in steps:
        offset = ((s.started_at or begin) - begin) / span * 100 if s.started_at else 0.0
        width = (s.duration_ms or 0) / 1000 / span * 100
        bars.append(
            {"step": s, "left": max(0.0, min(offset, 100.0)), "width": max(0.4, min(width, 100.0))}
        )
    return page(request, "run.html", run=run, steps=steps, bars=bars, span_ms=span * 1000)


@router.post("/runs/{run_id}/cancel")
async def cancel(request: fastapi.Request, run_id: str) -> Response:
    call = console_of(request).engine.cancel(run_id)
    return await attempt(request, call, f"/runs/{run_id}", "cancellation requested")


@router.post("/runs/{run_id}/rerun")
async def rerun(request: fastapi.Request, run_id: str) -> Response:
    """Start the run again with the same event, exactly as `loopwright runs rerun` does (a cron
    tick or an invocation is invoked again)."""
    from loopwright.run_control import rerun as rerun_run

    console = console_of(request)
    try:
        result = await engine_call(
            console.engine.url, rerun_run, console.engine.client, run_id, 3.0,
            what=f"run {run_id!r}",
        )  # fmt: skip
    except (Refused, PartDown) as err:
        session_of(request).flash.append(("error", f"Not rerun: {err}"))
        return RedirectResponse(f"/runs/{run_id}", status_code=303)
    new_run = result.get("new_run_id")
    session_of(request).flash.append(("ok", f"{result['event']} sent again"))
    return RedirectResponse(f"/runs/{new_run}" if new_run else "/runs", status_code=303)
