"""Cron triggers: parsing `[TZ=Zone ]m h dom mon dow`, the next tick, tick ids and jitter.

Inngest schedules with robfig/cron, and this module keeps its meaning of a schedule: a tick is
every instant whose wall-clock time in the zone matches the fields. So a time skipped by a
spring-forward DST change does not fire that day, and a time repeated by a fall-back change fires
twice. `croniter` does the field arithmetic on naive wall-clock times; `zoneinfo` turns them into
instants. Only robfig's syntax is accepted (numbers, ranges, steps, lists, `*`, `?`, three-letter
names), because Inngest rejects the rest at sync.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from .durations import format_duration, parse_duration

__all__ = [
    "MAX_CRON_LENGTH",
    "MAX_JITTER_SECONDS",
    "MIN_JITTER_SECONDS",
    "CronError",
    "CronSpec",
    "jitter_offset",
    "next_tick_ms",
    "parse_cron",
    "tick_id",
    "validate_jitter",
]

MAX_CRON_LENGTH = 255
MIN_JITTER_SECONDS = 1.0
MAX_JITTER_SECONDS = 300.0

_UTC = ZoneInfo("UTC")
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_TZ_PREFIX = re.compile(r"(?:CRON_TZ|TZ)=(\S*)\s+")
_ITEM = re.compile(r"(?:\*|\?|(?:\d+|[A-Za-z]{3})(?:-(?:\d+|[A-Za-z]{3}))?)(?:/\d+)?")
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Wall-clock times repeat after a fall-back change of at most this size (2 h in a few old rules).
_LOOKBACK = dt.timedelta(hours=3)
_EXAMPLE = "e.g. '0 9 * * 1-5' or 'TZ=Europe/Paris 0 9 * * 1-5'"


class CronError(ValueError):
    """A cron expression or jitter that Inngest would refuse at sync."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron trigger. `expr` is the text as synced: schedules are keyed by it."""

    expr: str
    fields: str
    tz: ZoneInfo

    def next_after(self, t: dt.datetime) -> dt.datetime:
        """The first tick strictly after `t` (an aware datetime), as an aware UTC datetime."""
        if t.tzinfo is None:
            raise ValueError("next_after needs an aware datetime, got a naive one")
        t = t.astimezone(_UTC)
        start = _wall(t, self.tz)
        if _offset_changes(self.tz, t, t + _LOOKBACK):
            start -= _LOOKBACK  # a fall-back change soon after t repeats wall times before t
        try:
            walls = croniter(self.fields, start)
            best: dt.datetime | None = None
            while True:
                wall: dt.datetime = walls.get_next(dt.datetime)
                if best is not None and wall >= _wall(best, self.tz) + _LOOKBACK:
                    return best
                for instant in _instants(wall, self.tz):
                    if instant > t and (best is None or instant < best):
                        best = instant
                if best is not None and not _offset_changes(self.tz, best - _LOOKBACK, best):
                    return best  # no repeated hour just before `best`, so nothing later is earlier
        except CroniterError as exc:
            raise CronError(
                f"cron {self.expr!r} has no tick after {t.isoformat()}: {exc}"
            ) from None


def parse_cron(text: str) -> CronSpec:
    """Parse a cron trigger, or raise CronError saying what is wrong and how to fix it."""
    if len(text) > MAX_CRON_LENGTH:
        raise CronError(f"cron {text[:40]!r}… is {len(text)} characters; the limit is 255")
    rest, tz = text.strip(), _UTC
    prefix = _TZ_PREFIX.match(rest)
    if prefix:
        tz = _zone(text, prefix.group(1))
        rest = rest[prefix.end() :]
    elif rest.startswith(("TZ=", "CRON_TZ=")):
        raise CronError(f"cron {text!r}: the time zone prefix must be followed by 5 fields")
    if rest.startswith("@"):
        hint = _DESCRIPTORS.get(rest.split()[0].lower())
        fix = f"write {hint!r} instead" if hint else f"write the 5 fields, {_EXAMPLE}"
        raise CronError(f"cron {text!r}: descriptors such as {rest.split()[0]} are refused; {fix}")
    fields = rest.split()
    if len(fields) != 5:
        raise CronError(
            f"cron {text!r} has {len(fields)} fields; it needs exactly 5 (minute hour "
            f"day-of-month month day-of-week), {_EXAMPLE}; seconds are not supported"
        )
    _check_fields(text, fields)
    spec = CronSpec(expr=text, fields=" ".join(fields), tz=tz)
    try:
        croniter(spec.fields, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError:
        raise CronError(f"cron {text!r} never fires: no date matches its fields") from None
    except CroniterError as exc:
        raise CronError(f"cron {text!r} is not valid: {exc}; {_EXAMPLE}") from None
    return spec


@functools.lru_cache(maxsize=1024)
def next_tick_ms(spec: CronSpec, after_ms: int) -> int:
    """`spec.next_after` in epoch milliseconds, cached.

    Every cron function with the same expression asks for the same next tick when its tick
    fires (typically at once: fifty minutely crons fire together), and croniter's expansion of
    the fields costs more than the rest of a fire; the cache keeps that work off the fires.
    """
    nxt = spec.next_after(dt.datetime.fromtimestamp(after_ms / 1000, tz=_UTC))
    return int(nxt.timestamp() * 1000)


def tick_id(scheduled_at: dt.datetime) -> str:
    """The idempotency key of a tick: its time as RFC 3339 UTC, whole seconds."""
    if scheduled_at.tzinfo is None:
        raise ValueError("tick_id needs an aware datetime, got a naive one")
    return scheduled_at.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jitter_offset(tick_id: str, jitter_seconds: float | None) -> float:
    """A delay in [1 s, jitter) that is the same for a tick every time it is computed.

    Deterministic so that a restarted engine schedules a tick for the same moment. Whole
    milliseconds; a jitter of 1 s or less (which validate_jitter refuses) gives 1 s.
    """
    if not jitter_seconds or jitter_seconds <= 0:
        return 0.0
    digest = hashlib.sha256(tick_id.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    span_ms = max(0, math.ceil((jitter_seconds - 1) * 1000) - 1)
    return 1 + math.floor(fraction * (span_ms + 1)) / 1000


def validate_jitter(seconds: float | str) -> float:
    """Return the jitter in seconds, or raise CronError if it is outside 1 s to 5 min."""
    try:
        value = parse_duration(seconds) if isinstance(seconds, str) else float(seconds)
    except ValueError as exc:
        raise CronError(f"jitter {seconds!r}: {exc}") from None
    if not MIN_JITTER_SECONDS <= value <= MAX_JITTER_SECONDS:
        shown = format_duration(value) if math.isfinite(value) else repr(value)
        raise CronError(f"jitter {shown} is out of range; use a value from 1s to 5m, e.g. '30s'")
    return value


def _check_fields(text: str, fields: list[str]) -> None:
    """Refuse what croniter accepts but robfig does not (L, W, #, H, Sunday as 7)."""
    for name, value in zip(_FIELD_NAMES, fields, strict=True):
        if not all(_ITEM.fullmatch(item) for item in value.split(",")):
            raise CronError(
                f"cron {text!r}: the {name} field {value!r} is not valid; use numbers, ranges "
                "(1-5), steps (*/15), lists (1,3) or three-letter names (MON, JAN)"
            )
    dow_numbers = (
        n for item in fields[4].split(",") for n in re.findall(r"\d+", item.split("/")[0])
    )
    if any(int(n) > 6 for n in dow_numbers):
        raise CronError(f"cron {text!r}: day-of-week runs from 0 (Sunday) to 6; write 0 for Sunday")


def _zone(text: str, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        raise CronError(
            f"cron {text!r}: unknown time zone {name!r}; use an IANA name such as "
            "'Europe/Paris' or 'America/New_York', or drop the prefix for UTC"
        ) from None


def _wall(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _instants(wall: dt.datetime, tz: ZoneInfo) -> list[dt.datetime]:
    """The UTC instants at which `tz` shows `wall`: none in a DST gap, two in a repeated hour."""
    out = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(_UTC)
        if _wall(instant, tz) == wall and instant not in out:
            out.append(instant)
    return out


def _offset_changes(tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> bool:
    return start.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset()
