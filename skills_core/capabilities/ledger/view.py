"""``LedgerView``: what the ``ledger`` capability answers, and nothing more.

Three reads, each bounded: the cron skills and their schedules (paused or active), the fire
times a skill's schedule expected in a window, and the start times and statuses of a skill's
runs in a window. No outputs, inputs, decision records or errors beyond a short message: a
watchdog needs to know *that* a run happened and how it ended, not what it saw.

Which skills a caller may read is checked by the caller (the gate and the platform backend);
this class checks the windows, so bad arguments get an error that says how to fix them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .schedule import MAX_FIRES, expected_fires, interval_s, split

#: The widest window one call may ask about.
MAX_WINDOW_S = 31 * 86_400
#: The most runs one answer carries (newest first; ``more`` says when there were others).
MAX_RUNS = 500
ERROR_CHARS = 200


class WindowError(ValueError):
    """A window or skill the ledger cannot answer for; the message says how to fix the call."""


@dataclasses.dataclass(frozen=True)
class CronSchedule:
    skill_id: str
    function_id: str
    cron: str
    paused: bool
    #: When the active version went live: fires before it are not expected.
    active_since: float | None

    def to_json(self) -> dict[str, Any]:
        fields, tz = split(self.cron)
        return {
            "skill_id": self.skill_id,
            "function_id": self.function_id,
            "cron": fields,
            "timezone": tz,
            "state": "paused" if self.paused else "active",
            "active_since": self.active_since,
            "interval_seconds": interval_s(self.cron, self.active_since or 0.0),
        }


class RunSource(Protocol):
    def runs(
        self,
        *,
        skill: str | None = None,
        function: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> Sequence[Any]: ...


#: The cron schedules of one skill (a skill id) or of every skill (None).
Schedules = Callable[[str | None], list[CronSchedule]]


class LedgerView:
    def __init__(self, schedules: Schedules, runs: RunSource) -> None:
        self._schedules = schedules
        self._runs = runs

    def cron_skills(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self._schedules(None)]

    def fires(
        self, skill: str, since: float, until: float, function: str | None = None
    ) -> list[float]:
        _window(since, until)
        schedule = self._schedule(skill, function)
        start = max(since, schedule.active_since or since)
        if start >= until:
            return []
        fires = expected_fires(schedule.cron, start, until, limit=MAX_FIRES + 1)
        if len(fires) > MAX_FIRES:
            raise WindowError(
                f"{skill} fires more than {MAX_FIRES} times between {since} and {until}; "
                "ask for a shorter window"
            )
        return fires

    def runs(
        self,
        skill: str,
        since: float,
        until: float,
        function: str | None = None,
        limit: int = MAX_RUNS,
    ) -> dict[str, Any]:
        _window(since, until)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS:
            raise WindowError(f"limit must be an integer from 1 to {MAX_RUNS}, not {limit!r}")
        found = self._runs.runs(
            skill=skill, function=function, since=since, until=until, limit=limit + 1
        )
        return {"runs": [_run(r) for r in found[:limit]], "more": len(found) > limit}

    def _schedule(self, skill: str, function: str | None) -> CronSchedule:
        mine = [s for s in self._schedules(skill) if s.skill_id == skill]
        if function is not None:
            mine = [s for s in mine if s.function_id == function]
        if not mine:
            known = sorted({s.skill_id for s in self._schedules(None)})
            raise WindowError(f"{skill!r} has no cron schedule; cron skills are {known}")
        if len(mine) > 1:
            names = [s.function_id for s in mine]
            raise WindowError(f"{skill!r} has several cron functions {names}; name one")
        return mine[0]


def _run(record: Any) -> dict[str, Any]:
    error = record.error_message or record.error_code
    return {
        "run_id": record.run_id,
        "function_id": record.function_id,
        "trigger": record.trigger,
        "status": record.status,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "error": error[:ERROR_CHARS] if error else None,
    }


def _window(since: object, until: object) -> None:
    for name, value in (("since", since), ("until", until)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise WindowError(f"{name} must be a Unix time in seconds, not {value!r}")
    assert isinstance(since, int | float) and isinstance(until, int | float)
    if since >= until:
        raise WindowError(f"since ({since}) must be before until ({until})")
    if until - since > MAX_WINDOW_S:
        raise WindowError(
            f"the window is {(until - since) / 86_400:.1f} days; at most "
            f"{MAX_WINDOW_S // 86_400} days per call"
        )
