"""Incidents: open and past, their triage summaries and evidence, and feedback buttons
(useful / false alarm / missed) that feed the review's outcome signals.

Until the incidents lifecycle lands, an incident is an inbox thread keyed by incident id (the
triage posts one thread per incident) together with the ``health/incident.opened`` event the
health check sent for it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import fastapi
from starlette.responses import Response

from ..context import console_of, page
from ..feedback import VERDICTS, record_feedback, signals_for
from ._common import Outages, back, who
from .inbox import threads

router = fastapi.APIRouter()
OPENED = "health/incident.opened"
OPEN_FOR_S = 6 * 3600


async def incidents(request: fastapi.Request, down: Outages) -> list[dict[str, Any]]:
    console = console_of(request)
    found = await threads(console.settings.capabilities_db) or []
    events = await down.get(console.engine.events(limit=100, since_iso=_days_ago(7)), [])
    opened = {
        str((e.get("data") or {}).get("incident_id")): e for e in events if e.get("name") == OPENED
    }
    out: dict[str, dict[str, Any]] = {}
    for thread in found:
        if not thread.key:
            continue
        out[thread.key] = {"id": thread.key, "thread": thread, "event": opened.get(thread.key)}
    for incident_id, event in opened.items():
        out.setdefault(incident_id, {"id": incident_id, "thread": None, "event": event})
    now = time.time()
    for item in out.values():
        last = item["thread"].last.at.timestamp() if item["thread"] else 0
        item["open"] = now - last < OPEN_FOR_S if item["thread"] else True
        item["feedback"] = signals_for(console.settings.var_dir, item["id"])
    return sorted(out.values(), key=lambda i: i["id"], reverse=True)


def _days_ago(days: int) -> str:
    import datetime as dt

    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/incidents")
async def incidents_page(request: fastapi.Request) -> Response:
    down = Outages()
    items = await incidents(request, down)
    return page(
        request, "incidents.html", incidents=items, verdicts=VERDICTS, outages=down.messages
    )


@router.post("/incidents/{incident_id}/feedback")
async def feedback(
    request: fastapi.Request,
    incident_id: str,
    verdict: Annotated[str, fastapi.Form()],
    note: Annotated[str, fastapi.Form()] = "",
) -> Response:
    console = console_of(request)
    if verdict not in VERDICTS:
        raise fastapi.HTTPException(400, f"verdict must be one of {', '.join(VERDICTS)}")
    where = record_feedback(console.settings.var_dir, incident_id, verdict, who(request), note)
    label = VERDICTS[verdict]
    return back(request, "/incidents", f"{incident_id}: marked {label!r} ({where})")
