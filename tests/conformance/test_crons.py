"""Crons (sections 3.5 and 6): a schedule is made at sync with the next tick after now, honouring a
`TZ=` prefix (UTC without one); a tick creates a run from an `inngest/scheduled.timer` event whose
id is the scheduled time. The real firing waits for the next minute, so it is marked slow and
runs the sync and async apps side by side."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any

import croniter
import inngest
import pytest

from ._engine import EngineAPI
from ._harness import MODES, App, app_fixture, poll, serve_app

PARIS = "TZ=Europe/Paris 0 9 * * 1-5"
NIGHTLY_UTC = "30 2 * * *"
MINUTELY = "* * * * *"


def build(app: App) -> list[inngest.Function[Any]]:
    if app.is_sync:

        @app.client.create_function(fn_id="paris", trigger=inngest.TriggerCron(cron=PARIS))
        def paris(ctx: inngest.ContextSync) -> None:
            pass

        @app.client.create_function(fn_id="nightly", trigger=inngest.TriggerCron(cron=NIGHTLY_UTC))
        def nightly(ctx: inngest.ContextSync) -> None:
            pass

    else:

        @app.client.create_function(fn_id="paris", trigger=inngest.TriggerCron(cron=PARIS))
        async def paris(ctx: inngest.Context) -> None:
            pass

        @app.client.create_function(fn_id="nightly", trigger=inngest.TriggerCron(cron=NIGHTLY_UTC))
        async def nightly(ctx: inngest.Context) -> None:
            pass

    return [paris, nightly]


app = app_fixture(build)


def expected_next(expr: str) -> datetime.datetime:
    """croniter's next tick after now, with the TZ= prefix applied by hand (section 6)."""
    zone = datetime.UTC
    if expr.startswith(("TZ=", "CRON_TZ=")):
        prefix, expr = expr.split(" ", 1)
        zone = zoneinfo.ZoneInfo(prefix.split("=", 1)[1])
    base = datetime.datetime.now(zone)
    nxt: datetime.datetime = croniter.croniter(expr, base).get_next(datetime.datetime)
    return nxt.astimezone(datetime.UTC)


def parse_utc(text: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(text)
    assert parsed.utcoffset() == datetime.timedelta(0), f"not UTC: {text}"
    return parsed


@pytest.mark.parametrize(("fn_id", "expr"), [("paris", PARIS), ("nightly", NIGHTLY_UTC)])
def test_schedule_next_at_matches_croniter(app: App, fn_id: str, expr: str) -> None:
    schedules = [s for s in app.engine.schedules() if s["function_slug"] == app.slug(fn_id)]
    assert len(schedules) == 1, schedules
    [schedule] = schedules
    assert schedule["cron"] == expr
    assert parse_utc(schedule["next_at"]) == expected_next(expr)


def build_minutely(app: App) -> list[inngest.Function[Any]]:
    def record(ctx: inngest.Context | inngest.ContextSync) -> None:
        app.journal.note(
            "tick",
            {
                "id": ctx.event.id,
                "name": ctx.event.name,
                "data": dict(ctx.event.data),
                "run_id": ctx.run_id,
            },
        )

    if app.is_sync:

        @app.client.create_function(fn_id="minutely", trigger=inngest.TriggerCron(cron=MINUTELY))
        def minutely(ctx: inngest.ContextSync) -> str:
            record(ctx)
            return "tick"

    else:

        @app.client.create_function(fn_id="minutely", trigger=inngest.TriggerCron(cron=MINUTELY))
        async def minutely(ctx: inngest.Context) -> str:
            record(ctx)
            return "tick"

    return [minutely]


@pytest.fixture
def minutely_apps(engine_api: EngineAPI) -> Iterator[list[App]]:
    with (
        serve_app(engine_api, "crons-minutely-sync", MODES[0], build_minutely) as sync_app,
        serve_app(engine_api, "crons-minutely-async", MODES[1], build_minutely) as async_app,
    ):
        yield [sync_app, async_app]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_minutely_cron_fires_with_scheduled_timer_event(minutely_apps: list[App]) -> None:
    for app in minutely_apps:
        [tick] = poll(
            lambda app=app: app.journal.notes("tick"), timeout=65, what=f"{app.app_id} to tick"
        )[:1]
        assert tick["name"] == "inngest/scheduled.timer"
        data = tick["data"]
        assert data["cron"] == MINUTELY
        scheduled = parse_utc(data["scheduledAt"])
        assert (scheduled.second, scheduled.microsecond) == (0, 0)
        assert parse_utc(data["fireAt"]) >= scheduled
        assert parse_utc(tick["id"]) == scheduled

        run = app.wait_done(tick["run_id"])
        assert run["status"] == "Completed", run
        assert run["output"] == "tick"
        assert run["function_slug"] == app.slug("minutely")
        assert run["cron"] == MINUTELY  # the run names the schedule that started it
