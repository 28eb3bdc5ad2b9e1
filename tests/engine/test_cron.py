"""Cron triggers: robfig syntax only, time zones, DST, tick ids and deterministic jitter."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from engine.cron import (
    CronError,
    CronSpec,
    jitter_offset,
    next_tick_ms,
    parse_cron,
    tick_id,
    validate_jitter,
)

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields", "zone"),
    [
        ("0 9 * * 1-5", "0 9 * * 1-5", "UTC"),
        ("TZ=Europe/Paris 0 9 * * 1-5", "0 9 * * 1-5", "Europe/Paris"),
        ("CRON_TZ=America/New_York */15 * * * *", "*/15 * * * *", "America/New_York"),
        ("  0   9 * *  MON-FRI ", "0 9 * * MON-FRI", "UTC"),
        ("0 9 1 jan ?", "0 9 1 jan ?", "UTC"),
        ("1,2,3-5 */2 * * 0", "1,2,3-5 */2 * * 0", "UTC"),
        ("5/15 * * * *", "5/15 * * * *", "UTC"),
    ],
)
def test_parse(text: str, fields: str, zone: str) -> None:
    spec = parse_cron(text)
    assert spec == CronSpec(expr=text, fields=fields, tz=ZoneInfo(zone))


def test_spec_is_frozen() -> None:
    spec = parse_cron("0 9 * * *")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.expr = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@daily", "write '0 0 * * *' instead"),
        ("TZ=Europe/Paris @hourly", "write '0 * * * *' instead"),
        ("@every 5m", "write the 5 fields"),
        ("0 9 * *", "has 4 fields; it needs exactly 5"),
        ("0 0 9 * * *", "has 6 fields; it needs exactly 5"),
        ("", "has 0 fields"),
        ("TZ=UTC", "must be followed by 5 fields"),
        ("TZ=Mars/Base 0 9 * * *", "unknown time zone 'Mars/Base'"),
        ("TZ=Europe 0 9 * * *", "unknown time zone 'Europe'"),
        ("TZ=../etc/passwd 0 9 * * *", "unknown time zone"),
        ("0 9 L * *", "day-of-month field 'L' is not valid"),
        ("H 9 * * *", "minute field 'H' is not valid"),
        ("0 9 * * 1#2", "day-of-week field '1#2' is not valid"),
        ("0 9 * * 7", "0 (Sunday) to 6"),
        ("61 * * * *", "is not valid"),
        ("*/0 * * * *", "is not valid"),
        ("0 MON * * *", "is not valid"),
        ("0 0 30 2 *", "never fires"),
        ("0 " * 130, "the limit is 255"),
    ],
)
def test_parse_rejects_with_a_fix(text: str, expected: str) -> None:
    with pytest.raises(CronError) as info:
        parse_cron(text)
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


# -- next tick -------------------------------------------------------------------------------


def test_next_after_is_strictly_after_and_utc() -> None:
    spec = parse_cron("0 9 * * *")
    first = spec.next_after(utc(2026, 11, 25, 8, 59, 59))
    assert first == utc(2026, 11, 25, 9)
    assert first.tzinfo == ZoneInfo("UTC")
    assert spec.next_after(first) == utc(2026, 11, 26, 9)
    assert spec.next_after(utc(2026, 11, 25, 9, 0, 0) + dt.timedelta(microseconds=1)) == utc(
        2026, 11, 26, 9
    )


def test_next_tick_ms_is_next_after_in_milliseconds() -> None:
    spec = parse_cron("TZ=Europe/Paris 0 9 * * 1-5")
    friday_evening = utc(2026, 11, 27, 18)
    after_ms = int(friday_evening.timestamp() * 1000)
    want = int(spec.next_after(friday_evening).timestamp() * 1000)
    assert next_tick_ms(spec, after_ms) == want
    assert next_tick_ms(spec, after_ms) == want  # the cached answer is the same
    assert next_tick_ms(spec, want) > want  # strictly after, like next_after


def test_next_after_accepts_any_aware_datetime() -> None:
    spec = parse_cron("*/15 * * * *")
    local = dt.datetime(2026, 11, 25, 10, 7, tzinfo=PARIS)  # 09:07Z
    assert spec.next_after(local) == utc(2026, 11, 25, 9, 15)


def test_next_after_refuses_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_cron("* * * * *").next_after(dt.datetime(2026, 1, 1))


def test_weekdays_in_paris() -> None:
    spec = parse_cron("TZ=Europe/Paris 0 9 * * 1-5")
    friday_evening = utc(2026, 11, 27, 18)
    assert spec.next_after(friday_evening) == utc(2026, 11, 30, 8)  # Monday 09:00 CET


def test_paris_keeps_wall_time_across_dst() -> None:
    spec = parse_cron("TZ=Europe/Paris 0 9 * * *")
    ticks = [spec.next_after(utc(2026, 3, 27, 12))]
    for _ in range(2):
        ticks.append(spec.next_after(ticks[-1]))
    assert ticks == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    ticks = [spec.next_after(utc(2026, 10, 24, 6))]
    ticks.append(spec.next_after(ticks[-1]))
    assert ticks == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)]


def test_paris_skipped_time_does_not_fire() -> None:
    # 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist that day (robfig skips it).
    spec = parse_cron("TZ=Europe/Paris 30 2 * * *")
    assert spec.next_after(utc(2026, 3, 28, 12)) == utc(2026, 3, 30, 0, 30)


def test_paris_repeated_time_fires_twice() -> None:
    # 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 happens at 00:30Z and 01:30Z.
    spec = parse_cron("TZ=Europe/Paris 30 2 * * *")
    first = spec.next_after(utc(2026, 10, 24, 12))
    second = spec.next_after(first)
    assert (first, second) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))
    assert spec.next_after(second) == utc(2026, 10, 26, 1, 30)


def _reference_ticks(spec: CronSpec, start: dt.datetime, minutes: int) -> list[dt.datetime]:
    """Every UTC minute whose wall time matches: the meaning of a schedule, by brute force."""
    minute_field, hour_field = spec.fields.split()[:2]

    def allowed(field: str, size: int) -> set[int]:
        if field.startswith("*/"):
            return set(range(0, size, int(field[2:])))
        return set(range(size)) if field == "*" else {int(v) for v in field.split(",")}

    ok_minutes, ok_hours = allowed(minute_field, 60), allowed(hour_field, 24)
    out = []
    for m in range(minutes):
        instant = start + dt.timedelta(minutes=m)
        wall = instant.astimezone(spec.tz)
        if wall.minute in ok_minutes and wall.hour in ok_hours:
            out.append(instant)
    return out


@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("Europe/Paris", utc(2026, 3, 29, 1)),
        ("Europe/Paris", utc(2026, 10, 25, 1)),
        ("America/New_York", utc(2026, 11, 1, 6)),
        ("Australia/Lord_Howe", utc(2026, 4, 4, 15)),  # a 30-minute change
    ],
)
@pytest.mark.parametrize("fields", ["*/30 * * * *", "30 2 * * *", "*/7 * * * *", "15 1,2,3 * * *"])
def test_next_after_matches_brute_force_around_dst(
    zone: str, around: dt.datetime, fields: str
) -> None:
    spec = parse_cron(f"TZ={zone} {fields}")
    start = around - dt.timedelta(hours=4)
    reference = _reference_ticks(spec, start, 60 * 24 * 2)
    for m in range(0, 8 * 60, 5):
        t = start + dt.timedelta(minutes=m, seconds=m % 3 * 20)
        assert spec.next_after(t) == reference[bisect.bisect_right(reference, t)], t


# -- tick ids and jitter ---------------------------------------------------------------------


def test_tick_id_is_rfc3339_utc() -> None:
    assert tick_id(utc(2026, 11, 25, 9)) == "2026-11-25T09:00:00Z"
    assert tick_id(dt.datetime(2026, 11, 25, 10, tzinfo=PARIS)) == "2026-11-25T09:00:00Z"
    with pytest.raises(ValueError, match="aware"):
        tick_id(dt.datetime(2026, 11, 25, 9))


def test_jitter_is_deterministic_and_in_range() -> None:
    ids = [tick_id(utc(2026, 1, 1) + dt.timedelta(minutes=m)) for m in range(500)]
    offsets = [jitter_offset(i, 30) for i in ids]
    assert offsets == [jitter_offset(i, 30.0) for i in ids]
    assert all(1 <= o < 30 for o in offsets)
    assert min(offsets) < 5 and max(offsets) > 25  # spread over the range
    assert len(set(offsets)) > 450


@pytest.mark.parametrize("jitter", [0, 0.0, None])
def test_no_jitter_means_no_offset(jitter: float | None) -> None:
    assert jitter_offset("2026-11-25T09:00:00Z", jitter) == 0.0


def test_smallest_jitter() -> None:
    assert jitter_offset("2026-11-25T09:00:00Z", 1) == 1.0
    assert 1 <= jitter_offset("2026-11-25T09:00:00Z", 1.5) < 1.5


@pytest.mark.parametrize(
    ("value", "seconds"), [(1, 1.0), (300, 300.0), ("30s", 30.0), ("5m", 300.0)]
)
def test_validate_jitter_accepts(value: float | str, seconds: float) -> None:
    assert validate_jitter(value) == seconds


@pytest.mark.parametrize("value", [0.5, 301, "10m", "abc", float("nan"), -1])
def test_validate_jitter_rejects(value: float | str) -> None:
    with pytest.raises(CronError, match="jitter"):
        validate_jitter(value)
