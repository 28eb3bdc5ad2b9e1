"""Singleton (section 5; SDK tests singleton_skip.py and singleton_cancel.py): in `skip` mode a
second event for a key with an active run starts nothing (at most a Skipped record); in `cancel`
mode it cancels the active run and starts its own."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture

HOLD = datetime.timedelta(seconds=1)


def build(app: App) -> list[inngest.Function[Any]]:
    skip = inngest.Singleton(mode="skip", key="event.data.group")
    cancel = inngest.Singleton(mode="cancel", key="event.data.group")

    def worked(ctx: inngest.Context | inngest.ContextSync) -> int:
        app.journal.note(ctx.event.data["group"], ctx.event.data["n"])
        return int(ctx.event.data["n"])

    if app.is_sync:

        @app.client.create_function(
            fn_id="skipper",
            trigger=inngest.TriggerEvent(event=app.event("skip")),
            singleton=skip,
            retries=0,
        )
        def skipper(ctx: inngest.ContextSync) -> int:
            time.sleep(HOLD.total_seconds())
            return worked(ctx)

        @app.client.create_function(
            fn_id="replacer",
            trigger=inngest.TriggerEvent(event=app.event("replace")),
            singleton=cancel,
            retries=0,
        )
        def replacer(ctx: inngest.ContextSync) -> int:
            ctx.step.sleep("hold", HOLD)
            return ctx.step.run("work", lambda: worked(ctx))

    else:

        @app.client.create_function(
            fn_id="skipper",
            trigger=inngest.TriggerEvent(event=app.event("skip")),
            singleton=skip,
            retries=0,
        )
        async def skipper(ctx: inngest.Context) -> int:
            await asyncio.sleep(HOLD.total_seconds())
            return worked(ctx)

        @app.client.create_function(
            fn_id="replacer",
            trigger=inngest.TriggerEvent(event=app.event("replace")),
            singleton=cancel,
            retries=0,
        )
        async def replacer(ctx: inngest.Context) -> int:
            async def work() -> int:
                return worked(ctx)

            await ctx.step.sleep("hold", HOLD)
            return await ctx.step.run("work", work)

    return [skipper, replacer]


app = app_fixture(build)


def test_skip_mode_starts_one_run_for_two_events(app: App) -> None:
    group = uuid.uuid4().hex
    first, second = app.send_all(
        [
            inngest.Event(name=app.event("skip"), data={"group": group, "n": 1}),
            inngest.Event(name=app.event("skip"), data={"group": group, "n": 2}),
        ]
    )
    run = app.wait_done(app.run_of(first)["run_id"])
    assert run["status"] == "Completed", run
    assert run["output"] == 1

    time.sleep(0.3)
    assert all(r["status"] == "Skipped" for r in app.engine.event_runs(second))
    assert app.journal.notes(group) == [1]


def test_cancel_mode_cancels_the_active_run(app: App) -> None:
    group = uuid.uuid4().hex
    first_run = app.run_of(app.send("replace", {"group": group, "n": 1}))["run_id"]
    app.wait_call(first_run, in_flight=False)  # it is sleeping now

    second_run = app.run_of(app.send("replace", {"group": group, "n": 2}))["run_id"]
    assert app.wait_done(first_run)["status"] == "Cancelled"
    assert app.wait_done(second_run)["status"] == "Completed"
    assert app.engine.run(second_run)["output"] == 2
    assert app.journal.notes(group) == [2]
