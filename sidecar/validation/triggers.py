"""What a valid trigger is: a cron Inngest accepts, or an event name a skill may listen to.

Crons have five fields, optionally prefixed by ``TZ=Area/City`` or ``CRON_TZ=Area/City`` (the
prefix Inngest accepts); croniter does not understand the prefix, so it is split off here and
the zone checked against the tz database.
"""

from __future__ import annotations

import re
import zoneinfo

from croniter import croniter

from sidecar.facade.events import (
    RESERVED_EMIT_PREFIXES,
    RESERVED_TRIGGER_PREFIXES,
    event_name_problem,
)

_TZ_PREFIX = re.compile(r"^(?:CRON_)?TZ=(\S+)\s+(.*)$")


def split_cron(expr: str) -> tuple[str | None, str]:
    match = _TZ_PREFIX.match(expr.strip())
    return (match.group(1), match.group(2)) if match else (None, expr.strip())


def cron_problem(expr: object) -> str | None:
    if not isinstance(expr, str):
        return "a cron must be a string"
    zone, body = split_cron(expr)
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return f"unknown time zone {zone!r} in {expr!r}"
    if len(body.split()) != 5:
        return f"cron {body!r} must have 5 fields (minute hour day month weekday)"
    if not croniter.is_valid(body):
        return f"cron {body!r} does not parse"
    return None


def trigger_event_problem(name: object) -> str | None:
    problem = event_name_problem(name)
    if problem:
        return problem
    assert isinstance(name, str)
    if name.startswith(RESERVED_TRIGGER_PREFIXES):
        return f"{name!r} is reserved for the engine; use on_failure for failure handling"
    return None


def emit_problem(name: object) -> str | None:
    problem = event_name_problem(name)
    if problem:
        return problem
    assert isinstance(name, str)
    if name.startswith(RESERVED_EMIT_PREFIXES):
        return f"{name!r} is reserved for the engine and the platform; skills cannot send it"
    return None
