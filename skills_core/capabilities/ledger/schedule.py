"""Cron schedules as fire times: the one place that reads a cron expression for the watchdog.

Skill code cannot import ``croniter``, so the ``ledger`` capability answers fire times for a
skill's registered schedule (``ledger.fires``); this module is how it computes them.
An expression may start with ``TZ=Area/City`` or ``CRON_TZ=Area/City`` (the engine's syntax);
without one it runs in UTC.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

from croniter import croniter

_TZ = re.compile(r"^(?:CRON_TZ|TZ)=(\S+)\s+")
#: More fires than this in one answer means the window is too wide for the schedule.
MAX_FIRES = 1_000
#: How far ahead ``interval_s`` looks for two fires (a yearly schedule answers a day).
_HORIZON_S = 40 * 86_400


def split(cron: str) -> tuple[str, str]:
    """(the five fields, the time zone name)."""
    match = _TZ.match(cron)
    if match:
        return cron[match.end() :], match[1]
    return cron, "UTC"


def expected_fires(cron: str, since: float, until: float, limit: int = MAX_FIRES) -> list[float]:
    """Fire times in (since, until], at most ``limit`` (the earliest)."""
    fields, tz = split(cron)
    it = croniter(fields, datetime.datetime.fromtimestamp(since, zoneinfo.ZoneInfo(tz)))
    out: list[float] = []
    while len(out) < limit:
        at = float(it.get_next(float))
        if at > until:
            break
        out.append(at)
    return out


def interval_s(cron: str, around: float) -> float:
    """Seconds between two fires after ``around`` (a day when the schedule is rarer)."""
    fires = expected_fires(cron, around, around + _HORIZON_S, limit=2)
    return fires[1] - fires[0] if len(fires) == 2 else 86_400.0
