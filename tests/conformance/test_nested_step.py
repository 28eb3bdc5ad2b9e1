"""A step inside a step (sections 4.3, 4.7): the SDK answers 206 `StepError` with
`code: step_nested` and `x-inngest-no-retry: true`. The header is honoured on a 206 as on a
500: the step fails at once (no retry of the call, though retries remain), and the run fails
with `step_errored`."""

from __future__ import annotations

from typing import Any

import inngest

from ._harness import App, app_fixture


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("go"))
    if app.is_sync:

        @app.client.create_function(fn_id="nested", trigger=trigger, retries=3)
        def nested(ctx: inngest.ContextSync) -> str:
            return ctx.step.run("outer", lambda: ctx.step.run("inner", lambda: "inner"))

    else:

        @app.client.create_function(fn_id="nested", trigger=trigger, retries=3)
        async def nested_async(ctx: inngest.Context) -> str:
            async def inner() -> str:
                return "inner"

            async def outer() -> str:
                return await ctx.step.run("inner", inner)

            return await ctx.step.run("outer", outer)

        nested = nested_async

    return [nested]


app = app_fixture(build)


def test_nested_step_fails_without_retry(app: App) -> None:
    run = app.trigger("go", {})
    assert run["status"] == "Failed", app.describe(run["run_id"], run)
    assert run["output"]["code"] == "step_errored"
    calls = app.calls(run_id=run["run_id"])
    nested = [c for c in calls if c.status == 206 and c.headers.get("x-inngest-no-retry") == "true"]
    assert nested, calls
    assert all(c.attempt == 0 for c in calls), [(c.step_id, c.attempt, c.status) for c in calls]
