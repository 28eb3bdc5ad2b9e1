"""Events: send one with a JSON editor (validated before it is sent, in the browser and here);
recent events and the runs each started."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import fastapi
from starlette.responses import Response

from ..context import console_of, page
from ..parts import PartDown, Refused
from ._common import Outages

router = fastapi.APIRouter()
EXAMPLE = {"name": "demo/hello", "data": {"message": "hello from the console"}}


class EventInvalid(ValueError):
    pass


def parse_event(text: str) -> tuple[str, dict[str, Any]]:
    """The editor's text → (name, data), or an error that says what to fix."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise EventInvalid(
            f"Invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}. Nothing was sent."
        ) from None
    if not isinstance(value, dict):
        raise EventInvalid('The event must be a JSON object: {"name": "...", "data": {...}}.')
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventInvalid('The event needs a "name" (a non-empty string). Nothing was sent.')
    data = value.get("data", {})
    if not isinstance(data, dict):
        raise EventInvalid('"data" must be a JSON object. Nothing was sent.')
    unknown = sorted(set(value) - {"name", "data"})
    if unknown:
        raise EventInvalid(f"Unknown field(s) {', '.join(unknown)}: use only name and data.")
    return name.strip(), data


async def _recent(request: fastapi.Request, down: Outages) -> list[dict[str, Any]]:
    console = console_of(request)
    items = await down.get(console.engine.events(limit=20), [])

    async def with_runs(event: dict[str, Any]) -> dict[str, Any]:
        runs = await down.get(console.engine.event_runs(str(event["internal_id"])), [])
        return {**event, "runs": runs}

    return list(await asyncio.gather(*(with_runs(e) for e in items)))


@router.get("/events")
async def events_page(request: fastapi.Request) -> Response:
    down = Outages()
    recent = await _recent(request, down)
    return page(
        request,
        "events.html",
        recent=recent,
        editor=json.dumps(EXAMPLE, indent=2),
        error=None,
        sent=None,
        outages=down.messages,
    )


@router.post("/events")
async def send_event(
    request: fastapi.Request, event: Annotated[str, fastapi.Form()] = ""
) -> Response:
    console = console_of(request)
    error, sent = None, None
    try:
        name, data = parse_event(event)
        ids = await console.engine.send(name, data)
        sent = {"name": name, "ids": ids}
    except EventInvalid as err:
        error = str(err)
    except (PartDown, Refused) as err:
        error = f"Not sent: {err}"
    down = Outages()
    recent = await _recent(request, down)
    return page(
        request,
        "events.html",
        400 if error else 200,
        recent=recent,
        editor=event,
        error=error,
        sent=sent,
        outages=down.messages,
    )
