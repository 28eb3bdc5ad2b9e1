"""Incidents: open and past, from the platform's incident store (what `loopwright incidents`
reads): state, severity, signals, revisions; with each its inbox thread (keyed by the incident
id: the alert, the triage summary, updates, the resolution) as the evidence, and feedback
buttons (useful / false alarm / missed) that feed the review's outcome signals.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated, Any

import fastapi
from starlette.responses import Response

from skills_core.capabilities.incidents import Incident
from skills_core.capabilities.notify.inbox import read_inbox

from ..context import console_of, page
from ..feedback import VERDICTS, all_feedback, record_feedback
from ._common import back, who
from .inbox import Thread

router = fastapi.APIRouter()
#: As many as `loopwright incidents` lists by default, and then some.
LIMIT = 50


@dataclasses.dataclass(frozen=True)
class IncidentView:
    incident: Incident
    thread: Thread | None
    feedback: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return self.incident.id

    @property
    def open(self) -> bool:
        return self.incident.state == "open"


def _threads_of(db: Path, ids: set[str]) -> dict[str, Thread]:
    """The inbox threads of these incidents, read in one pass (the inbox's thread filter
    cannot use an index, so one read beats one per incident)."""
    if not ids or not db.exists():
        return {}
    out: dict[str, Thread] = {}
    for msg in read_inbox(db, limit=100_000):
        if msg.thread_key in ids:
            out.setdefault(msg.thread_key, Thread(msg.thread_key, [])).messages.append(msg)
    return out


async def incidents(
    request: fastapi.Request, *, open_only: bool = False, evidence: bool = True
) -> list[IncidentView]:
    """Newest activity first, each with its inbox thread (``evidence``) and people's verdicts."""
    console = console_of(request)
    found, verdicts = await asyncio.gather(
        asyncio.to_thread(console.incidents.recent, open_only=open_only, limit=LIMIT),
        asyncio.to_thread(all_feedback, console.settings.var_dir),
    )
    ids = {i.id for i in found}
    posted = (
        await asyncio.to_thread(_threads_of, console.settings.capabilities_db, ids)
        if evidence
        else {}
    )
    return [
        IncidentView(
            incident=i,
            thread=posted.get(i.id),
            feedback=[f for f in verdicts if f.get("incident_id") == i.id],
        )
        for i in found
    ]


@router.get("/incidents")
async def incidents_page(request: fastapi.Request) -> Response:
    items = await incidents(request)
    return page(
        request,
        "incidents.html",
        open_incidents=[i for i in items if i.open],
        past_incidents=[i for i in items if not i.open],
        verdicts=VERDICTS,
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
