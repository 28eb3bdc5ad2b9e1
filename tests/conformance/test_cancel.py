"""Cancellation (sections 4.8, 4.13; SDK tests cancel.py and no_cancel_if_exp_not_match.py): a
matching cancel event cancels the run even while its call is still executing, the late answer is
discarded (no further calls, later steps never run); a non-matching `if` leaves the run alone;
DELETE /v1/runs/{id} cancels a sleeping run."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture, poll


def build(app: App) -> list[inngest.Function[Any]]:
    cancel = [inngest.Cancel(event=app.event("cancel"), if_exp="event.data.id == async.data.id")]
    go = inngest.TriggerEvent(event=app.event("go"))
    nap = inngest.TriggerEvent(event=app.event("nap"))

    def after(ctx: inngest.Context | inngest.ContextSync) -> str:
        app.journal.note(f"{ctx.run_id}:after")
        return "after"

    if app.is_sync:

        @app.client.create_function(fn_id="cancellable", trigger=go, cancel=cancel, retries=0)
        def cancellable(ctx: inngest.ContextSync) -> str:
            ctx.step.run("slow", lambda: time.sleep(ctx.event.data["seconds"]))
            return ctx.step.run("after", lambda: after(ctx))

        @app.client.create_function(fn_id="napper", trigger=nap, retries=0)
        def napper(ctx: inngest.ContextSync) -> str:
            ctx.step.sleep("nap", datetime.timedelta(seconds=30))
            return ctx.step.run("after", lambda: after(ctx))

    else:

        @app.client.create_function(fn_id="cancellable", trigger=go, cancel=cancel, retries=0)
        async def cancellable(ctx: inngest.Context) -> str:
            async def slow() -> None:
                await asyncio.sleep(ctx.event.data["seconds"])

            async def after_body() -> str:
                return after(ctx)

            await ctx.step.run("slow", slow)
            return await ctx.step.run("after", after_body)

        @app.client.create_function(fn_id="napper", trigger=nap, retries=0)
        async def napper(ctx: inngest.Context) -> str:
            async def after_body() -> str:
                return after(ctx)

            await ctx.step.sleep("nap", datetime.timedelta(seconds=30))
            return await ctx.step.run("after", after_body)

    return [cancellable, napper]


app = app_fixture(build)


def test_cancel_event_cancels_while_call_is_executing(app: App) -> None:
    corr = uuid.uuid4().hex
    run_id = app.run_of(app.send("go", {"id": corr, "seconds": 2}))["run_id"]
    call = app.wait_call(run_id, in_flight=True)

    app.send("cancel", {"id": corr})
    run = app.wait_status(run_id, "Cancelled")
    assert call.in_flight, "the run was only cancelled after its call had returned"
    assert run["ended_at"] is not None

    # The SDK's late 206 for "slow" must be discarded: no next call, "after" never runs.
    poll(lambda: not call.in_flight, what="the slow call to end")
    time.sleep(0.5)
    assert app.engine.run(run_id)["status"] == "Cancelled"
    assert len(app.calls(run_id=run_id)) == 1
    assert app.journal.notes(f"{run_id}:after") == []


def test_cancel_event_with_unmatched_if_does_not_cancel(app: App) -> None:
    corr = uuid.uuid4().hex
    run_id = app.run_of(app.send("go", {"id": corr, "seconds": 1}))["run_id"]
    app.wait_call(run_id, in_flight=True)

    app.send("cancel", {"id": "someone-else"})
    run = app.wait_done(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == "after"
    assert app.journal.notes(f"{run_id}:after") == [None]


def test_delete_run_cancels_a_sleeping_run(app: App) -> None:
    run_id = app.run_of(app.send("nap"))["run_id"]
    app.wait_call(run_id, in_flight=False)  # the call that reported the sleep has returned

    resp = app.engine.cancel(run_id)
    assert resp.status_code in (200, 204), resp.text
    run = app.wait_status(run_id, "Cancelled")
    assert run["ended_at"] is not None
    assert app.journal.notes(f"{run_id}:after") == []
