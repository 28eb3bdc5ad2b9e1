"""Skills: the list (state, version, trigger, next fire, last run, success rate) and one skill's
page (code, manifest, validation report per version, versions timeline, side-by-side diff,
approve / reject / roll back / pause / resume / test-run)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import fastapi
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ..context import console_of, page, session_of
from ..ledger_runs import extras_for
from ..parts import NotFound
from ..render import day, python_html, side_by_side
from ..runs_source import RunRow, skill_of
from ._common import Outages, attempt, who

router = fastapi.APIRouter()
#: Without the ledger, success rates come from this many recent runs (the engine's history).
STATS_WINDOW = 200
#: With the ledger: the daily rollups of this many days.
STATS_DAYS = 7


def _triggers(report: dict[str, Any] | None) -> list[str]:
    spec = (report or {}).get("skill") or {}
    out = []
    for fn in spec.get("functions") or []:
        for trig in fn.get("triggers") or []:
            out.append(f"cron {trig['cron']}" if trig.get("cron") else f"event {trig.get('event')}")
    if not out:
        for trig in (spec.get("manifest") or {}).get("triggers") or []:
            out.append(f"cron {trig['cron']}" if trig.get("cron") else f"event {trig.get('event')}")
    return out


def run_stats(rows: list[RunRow]) -> dict[str, dict[str, Any]]:
    """Per skill: the last run and the success rate over the recent window."""
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.skill_id is None:
            continue
        s = stats.setdefault(row.skill_id, {"last": row, "done": 0, "ok": 0})
        if row.status in ("completed", "failed", "cancelled"):
            s["done"] += 1
            s["ok"] += row.status == "completed"
    for s in stats.values():
        s["rate"] = s["ok"] / s["done"] if s["done"] else None
    return stats


@dataclasses.dataclass(frozen=True)
class SkillLine:
    """One row of the skills list, ready to print: the template reads attributes and loops over
    nothing (a row per skill made Jinja's per-field dict lookups the page's main cost)."""

    id: str
    href: str
    state: str
    awaiting: str
    active: str
    latest: int | None
    crons: list[str]
    fires: list[str]
    has_functions: bool
    last: RunRow | None
    last_day: str | None
    rate: float | None
    done: int


def skill_lines(
    skills: list[dict[str, Any]], stats: dict[str, dict[str, Any]], schedules: dict[Any, Any]
) -> list[SkillLine]:
    lines = []
    for s in skills:
        st = stats.get(s["id"]) or {}
        crons = [schedules[fn] for fn in s.get("function_ids") or [] if fn in schedules]
        waiting = s.get("awaiting_approval") or []
        lines.append(
            SkillLine(
                id=s["id"],
                href=f"/skills/{quote(s['id'])}",  # as Jinja's urlencode
                state=s.get("state") or "",
                awaiting=", v".join(str(n) for n in waiting),
                active="-" if s.get("active_version") is None else str(s["active_version"]),
                latest=s.get("latest_version"),
                crons=[str(c.get("cron")) for c in crons],
                fires=[str(c.get("fire_at")) for c in crons],
                has_functions=bool(s.get("function_ids")),
                last=st.get("last"),
                last_day=st.get("last_day"),
                rate=st.get("rate"),
                done=st.get("done") or 0,
            )
        )
    return lines


async def _none() -> None:
    return None


@router.get("/skills")
async def skills_list(request: fastapi.Request) -> Response:
    console = console_of(request)
    down = Outages()
    extras = extras_for(console.runs)
    now = time.time()
    # Every read at once: the page costs the slowest part, not the sum of them.
    skills, recent, outcomes, schedules = await asyncio.gather(
        down.get(console.sidecar.skills(), []),
        down.get(console.runs.runs(limit=50 if extras else STATS_WINDOW), []),
        extras.outcomes(day(now - (STATS_DAYS - 1) * 86400), day(now)) if extras else _none(),
        down.get(console.engine.schedules(), []),
    )
    stats = run_stats(recent)
    for skill_id, o in (outcomes or {}).items():
        s = stats.setdefault(skill_id, {"last": None})
        s.update(o, rate=o["ok"] / o["done"] if o["done"] else None)
    by_fn = {skill_of(str(x.get("function_slug") or "")): x for x in schedules}
    return page(
        request,
        "skills.html",
        skills=skill_lines(skills, stats, by_fn),
        outages=down.messages,
        window=f"the last {STATS_DAYS} days" if extras else f"the last {STATS_WINDOW} runs",
    )


@router.get("/skills/{skill_id}")
async def skill_page(
    request: fastapi.Request,
    skill_id: str,
    v: int | None = None,
    diff_from: Annotated[int | None, fastapi.Query(alias="from")] = None,
    diff_to: Annotated[int | None, fastapi.Query(alias="to")] = None,
) -> Response:
    console = console_of(request)
    down = Outages()
    skill, recent = await asyncio.gather(
        console.sidecar.skill(skill_id),
        down.get(console.runs.runs(skill=skill_id, limit=20), []),
    )
    numbers = [ver["number"] for ver in skill["versions"]]
    shown = v if v is not None else (skill["active_version"] or skill["latest_version"])
    if shown not in numbers:
        raise NotFound(f"version {shown} of skill {skill_id!r}")
    wanted = [shown]
    if diff_from is not None or diff_to is not None:
        a = diff_from if diff_from is not None else max(1, shown - 1)
        b = diff_to if diff_to is not None else shown
        wanted += [a, b]
    # The shown version and the diff's two at once, each fetched once.
    unique = list(dict.fromkeys(wanted))
    fetched = await asyncio.gather(*(console.sidecar.version(skill_id, n) for n in unique))
    versions = dict(zip(unique, fetched, strict=True))
    version = versions[shown]
    diff = None
    if len(wanted) == 3:
        a, b = wanted[1], wanted[2]
        rows = side_by_side(versions[a]["source"], versions[b]["source"])
        diff = {"from": a, "to": b, "rows": rows}
    report = version.get("report") or {}
    spec = report.get("skill") or {}
    example = _example_event(report)
    return page(
        request,
        "skill.html",
        skill=skill,
        version=version,
        code=python_html(version["source"]),
        manifest=spec.get("manifest") or spec,
        triggers=_triggers(report),
        report=report,
        diff=diff,
        numbers=numbers,
        runs=recent,
        outages=down.messages,
        example=json.dumps(example, indent=2),
        fn_ids=version.get("function_ids") or [f.get("fn_id") for f in spec.get("functions") or []],
        test_result=None,
    )


def _example_event(report: dict[str, Any]) -> dict[str, Any]:
    spec = report.get("skill") or {}
    for trig in (spec.get("manifest") or {}).get("triggers") or []:
        if trig.get("event"):
            return {"name": trig["event"], "data": trig.get("example") or {}}
    return {"data": {}}


Form = Annotated[str, fastapi.Form()]


Version = Annotated[int, fastapi.Form()]


async def _change(
    request: fastapi.Request, skill_id: str, action: str, body: dict[str, Any], url: str, ok: str
) -> Response:
    """One sidecar action in the name of the person logged in; back to ``url`` with the outcome."""
    call = console_of(request).sidecar.act(skill_id, action, {**body, "by": who(request)})
    return await attempt(request, call, url, ok)


@router.post("/skills/{skill_id}/approve")
async def approve(request: fastapi.Request, skill_id: str, version: Version) -> Response:
    url = f"/skills/{skill_id}?v={version}"
    return await _change(
        request, skill_id, "approve", {"version": version}, url, f"v{version} approved"
    )


@router.post("/skills/{skill_id}/reject")
async def reject(
    request: fastapi.Request, skill_id: str, version: Version, reason: Form = ""
) -> Response:
    url = f"/skills/{skill_id}?v={version}"
    if not reason.strip():
        session_of(request).flash.append(
            ("error", "Say why you reject it: the author reads the reason.")
        )
        return RedirectResponse(url, status_code=303)
    body = {"version": version, "reason": reason.strip()}
    return await _change(request, skill_id, "reject", body, url, f"v{version} rejected")


@router.post("/skills/{skill_id}/rollback")
async def rollback(request: fastapi.Request, skill_id: str, version: Version) -> Response:
    url, ok = f"/skills/{skill_id}", f"rolled back to v{version}"
    return await _change(request, skill_id, "rollback", {"version": version}, url, ok)


@router.post("/skills/{skill_id}/pause")
async def pause(request: fastapi.Request, skill_id: str) -> Response:
    ok = "paused: no new runs start"
    return await _change(request, skill_id, "pause", {}, f"/skills/{skill_id}", ok)


@router.post("/skills/{skill_id}/resume")
async def resume(request: fastapi.Request, skill_id: str) -> Response:
    return await _change(request, skill_id, "resume", {}, f"/skills/{skill_id}", "resumed")


@router.post("/skills/{skill_id}/test")
async def test_run(
    request: fastapi.Request, skill_id: str, fn_id: Form, event: Form = "{}", mode: Form = "dry"
) -> Response:
    """A dry run (sandbox, fake capabilities) or a real run, answered as an htmx fragment."""
    console = console_of(request)
    try:
        data = json.loads(event or "{}")
        if not isinstance(data, dict):
            raise ValueError('the event must be a JSON object like {"data": {...}}')
    except ValueError as err:
        # 200: htmx swaps only successful answers into the page; the error is the content.
        return page(request, "_test_result.html", error=f"Invalid event JSON: {err}", result=None)
    started = time.monotonic()
    try:
        result = await console.sidecar.act(
            skill_id,
            "test",
            {"fn_id": fn_id, "event": data, "mode": "real" if mode == "real" else "dry"},
        )
    except Exception as err:  # refused, down: shown inline where the button was
        return page(request, "_test_result.html", 200, error=str(err), result=None)
    took = (time.monotonic() - started) * 1000
    return page(request, "_test_result.html", result=result, error=None, took=took)
