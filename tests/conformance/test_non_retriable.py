"""NonRetriableError (sections 4.3, 4.7, 4.8; SDK test non_retriable_error.py): raised in the
function or inside a step it arrives as a 500 with `x-inngest-no-retry: true`; the run fails at
once (attempt stays 0, one call) with the SDK's error body as output."""

from __future__ import annotations

from typing import Any

import inngest

from ._harness import App, app_fixture


def build(app: App) -> list[inngest.Function[Any]]:
    def refuse(ctx: inngest.Context | inngest.ContextSync) -> str:
        app.journal.note(ctx.run_id, ctx.attempt)
        raise inngest.NonRetriableError("foo")

    fn_trigger = inngest.TriggerEvent(event=app.event("in-fn"))
    step_trigger = inngest.TriggerEvent(event=app.event("in-step"))
    if app.is_sync:

        @app.client.create_function(fn_id="in-fn", trigger=fn_trigger, retries=3)
        def in_fn(ctx: inngest.ContextSync) -> str:
            return refuse(ctx)

        @app.client.create_function(fn_id="in-step", trigger=step_trigger, retries=3)
        def in_step(ctx: inngest.ContextSync) -> str:
            return ctx.step.run("refuse", lambda: refuse(ctx))

    else:

        @app.client.create_function(fn_id="in-fn", trigger=fn_trigger, retries=3)
        async def in_fn(ctx: inngest.Context) -> str:
            return refuse(ctx)

        @app.client.create_function(fn_id="in-step", trigger=step_trigger, retries=3)
        async def in_step(ctx: inngest.Context) -> str:
            async def body() -> str:
                return refuse(ctx)

            return await ctx.step.run("refuse", body)

    return [in_fn, in_step]


app = app_fixture(build)


def assert_failed_once(app: App, run: dict[str, Any]) -> None:
    assert run["status"] == "Failed", run
    output = run["output"]
    assert output["code"] == "non_retriable_error"
    assert output["name"] == "NonRetriableError"
    assert output["message"] == "foo"
    assert isinstance(output["stack"], str)
    assert app.journal.notes(run["run_id"]) == [0]
    calls = app.calls(run_id=run["run_id"])
    assert [(c.attempt, c.status, c.headers.get("x-inngest-no-retry")) for c in calls] == [
        (0, 500, "true")
    ]


def test_non_retriable_error_in_function_fails_at_once(app: App) -> None:
    assert_failed_once(app, app.trigger("in-fn"))


def test_non_retriable_error_in_step_fails_at_once(app: App) -> None:
    assert_failed_once(app, app.trigger("in-step"))
