"""on_failure (sections 2.2, 3.5, 4.14; SDK test on_failure.py): when a run fails, the
`<slug>-failure` function runs from an `inngest/function.failed` event whose data carries
function_id, run_id, the original event and the error (name, message, stack)."""

from __future__ import annotations

import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture, poll


class MyError(Exception):
    pass


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("go"))

    def record(ctx: inngest.Context | inngest.ContextSync) -> None:
        app.journal.note("failure-event", {"name": ctx.event.name, "data": ctx.event.data})

    if app.is_sync:

        def on_failure(ctx: inngest.ContextSync) -> None:
            record(ctx)

        @app.client.create_function(
            fn_id="fails", trigger=trigger, retries=0, on_failure=on_failure
        )
        def fails(ctx: inngest.ContextSync) -> None:
            raise MyError("intentional failure")

    else:

        async def on_failure_async(ctx: inngest.Context) -> None:
            record(ctx)

        @app.client.create_function(
            fn_id="fails", trigger=trigger, retries=0, on_failure=on_failure_async
        )
        async def fails(ctx: inngest.Context) -> None:
            raise MyError("intentional failure")

    return [fails]


app = app_fixture(build)


def test_on_failure_receives_the_failed_event(app: App) -> None:
    marker = uuid.uuid4().hex
    event_id = app.send("go", {"marker": marker})
    run = app.wait_done(app.run_of(event_id)["run_id"])
    assert run["status"] == "Failed", run

    [failure] = poll(lambda: app.journal.notes("failure-event"), what="the on_failure handler")
    assert failure["name"] == "inngest/function.failed"
    data = failure["data"]
    assert data["function_id"] == app.slug("fails")
    assert data["run_id"] == run["run_id"]
    assert data["event"]["name"] == app.event("go")
    assert data["event"]["data"] == {"marker": marker}
    assert data["event"]["id"] == event_id
    error = data["error"]
    assert error["name"] == "MyError"
    assert error["message"] == "intentional failure"
    assert isinstance(error["stack"], str)

    [handler_run] = poll(
        lambda: app.engine.runs(app.slug("fails-failure"), status="Completed"),
        what="the failure handler's run to complete",
    )
    assert handler_run["function_slug"] == app.slug("fails-failure")
