"""Retries (section 4.7, SDK test retry_after_error.py): attempts belong to the call, a failing
function or step is retried with attempt + 1 until `retries` runs out, a step that fails for good
raises StepError in user code, and RetryAfterError (function level and inside a step) postpones
the retry to the given time. The engine runs with a flat 1 s backoff, so Retry-After is tested
with 2 s to tell the two apart."""

from __future__ import annotations

import datetime
import time
from typing import Any

import inngest

from ._harness import App, app_fixture

RETRY_AFTER = datetime.timedelta(seconds=2)


class MyError(Exception):
    pass


def build(app: App) -> list[inngest.Function[Any]]:
    def attempt_seen(ctx: inngest.Context | inngest.ContextSync, label: str) -> None:
        app.journal.note(f"{ctx.run_id}:{label}", (ctx.attempt, time.time()))

    def flaky_fn(ctx: inngest.Context | inngest.ContextSync) -> str:
        attempt_seen(ctx, "fn")
        if ctx.attempt < 2:
            raise MyError(f"attempt {ctx.attempt} fails")
        return f"ok at attempt {ctx.attempt}"

    def always_fails(ctx: inngest.Context | inngest.ContextSync) -> None:
        attempt_seen(ctx, "fn")
        raise MyError("boom")

    def flaky_step(ctx: inngest.Context | inngest.ContextSync) -> str:
        attempt_seen(ctx, "flaky")
        if ctx.attempt == 0:
            raise MyError("first try fails")
        return "flaky ok"

    def doomed_step(ctx: inngest.Context | inngest.ContextSync) -> str:
        attempt_seen(ctx, "doomed")
        raise MyError("doomed")

    def retry_after(ctx: inngest.Context | inngest.ContextSync, label: str) -> str:
        attempt_seen(ctx, label)
        if ctx.attempt == 0:
            raise inngest.RetryAfterError("not yet", RETRY_AFTER)
        return "later"

    def ev(short: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=app.event(short))

    if app.is_sync:

        @app.client.create_function(fn_id="flaky-fn", trigger=ev("flaky-fn"), retries=2)
        def fn_retried(ctx: inngest.ContextSync) -> str:
            return flaky_fn(ctx)

        @app.client.create_function(fn_id="exhausted", trigger=ev("exhausted"), retries=1)
        def exhausted(ctx: inngest.ContextSync) -> None:
            always_fails(ctx)

        @app.client.create_function(fn_id="steps", trigger=ev("steps"), retries=1)
        def steps(ctx: inngest.ContextSync) -> dict[str, Any]:
            clean = ctx.step.run("clean", lambda: "clean")
            flaky = ctx.step.run("flaky", lambda: flaky_step(ctx))
            try:
                ctx.step.run("doomed", lambda: doomed_step(ctx))
            except inngest.StepError as err:
                return {"clean": clean, "flaky": flaky, "caught": [err.name, err.message]}
            return {"unexpected": True}

        @app.client.create_function(fn_id="uncaught", trigger=ev("uncaught"), retries=0)
        def uncaught(ctx: inngest.ContextSync) -> None:
            ctx.step.run("doomed", lambda: doomed_step(ctx))

        @app.client.create_function(fn_id="retry-after-fn", trigger=ev("ra-fn"), retries=2)
        def retry_after_fn(ctx: inngest.ContextSync) -> str:
            return retry_after(ctx, "fn")

        @app.client.create_function(fn_id="retry-after-step", trigger=ev("ra-step"), retries=2)
        def retry_after_step(ctx: inngest.ContextSync) -> str:
            return ctx.step.run("wait", lambda: retry_after(ctx, "step"))

    else:

        @app.client.create_function(fn_id="flaky-fn", trigger=ev("flaky-fn"), retries=2)
        async def fn_retried(ctx: inngest.Context) -> str:
            return flaky_fn(ctx)

        @app.client.create_function(fn_id="exhausted", trigger=ev("exhausted"), retries=1)
        async def exhausted(ctx: inngest.Context) -> None:
            always_fails(ctx)

        @app.client.create_function(fn_id="steps", trigger=ev("steps"), retries=1)
        async def steps(ctx: inngest.Context) -> dict[str, Any]:
            async def clean_body() -> str:
                return "clean"

            async def flaky_body() -> str:
                return flaky_step(ctx)

            async def doomed_body() -> str:
                return doomed_step(ctx)

            clean = await ctx.step.run("clean", clean_body)
            flaky = await ctx.step.run("flaky", flaky_body)
            try:
                await ctx.step.run("doomed", doomed_body)
            except inngest.StepError as err:
                return {"clean": clean, "flaky": flaky, "caught": [err.name, err.message]}
            return {"unexpected": True}

        @app.client.create_function(fn_id="uncaught", trigger=ev("uncaught"), retries=0)
        async def uncaught(ctx: inngest.Context) -> None:
            async def doomed_body() -> str:
                return doomed_step(ctx)

            await ctx.step.run("doomed", doomed_body)

        @app.client.create_function(fn_id="retry-after-fn", trigger=ev("ra-fn"), retries=2)
        async def retry_after_fn(ctx: inngest.Context) -> str:
            return retry_after(ctx, "fn")

        @app.client.create_function(fn_id="retry-after-step", trigger=ev("ra-step"), retries=2)
        async def retry_after_step(ctx: inngest.Context) -> str:
            async def body() -> str:
                return retry_after(ctx, "step")

            return await ctx.step.run("wait", body)

    return [fn_retried, exhausted, steps, uncaught, retry_after_fn, retry_after_step]


app = app_fixture(build)


def attempts(app: App, run_id: str, label: str) -> list[int]:
    return [attempt for attempt, _ in app.journal.notes(f"{run_id}:{label}")]


def test_function_error_is_retried_until_it_succeeds(app: App) -> None:
    run = app.trigger("flaky-fn")
    assert run["status"] == "Completed", run
    assert run["output"] == "ok at attempt 2"
    assert attempts(app, run["run_id"], "fn") == [0, 1, 2]
    calls = app.calls(run_id=run["run_id"])
    assert [(c.step_id, c.attempt, c.status) for c in calls] == [
        ("step", 0, 500),
        ("step", 1, 500),
        ("step", 2, 200),
    ]


def test_exhausted_retries_fail_the_run_with_the_error(app: App) -> None:
    run = app.trigger("exhausted")
    assert run["status"] == "Failed", run
    assert attempts(app, run["run_id"], "fn") == [0, 1]
    output = run["output"]
    assert output["name"] == "MyError"
    assert output["message"] == "boom"
    assert isinstance(output["stack"], str) and "MyError" in output["stack"]


def test_step_errors_retry_the_step_then_surface_as_step_error(app: App) -> None:
    run = app.trigger("steps")
    assert run["status"] == "Completed", run
    assert run["output"] == {"clean": "clean", "flaky": "flaky ok", "caught": ["MyError", "doomed"]}
    run_id = run["run_id"]
    assert attempts(app, run_id, "flaky") == [0, 1]
    assert attempts(app, run_id, "doomed") == [0, 1]

    by_name = {s["name"]: s for s in app.steps(run_id) if s["kind"] == "run"}
    assert by_name["clean"]["status"] == "Completed"
    assert by_name["flaky"]["status"] == "Completed"
    assert by_name["flaky"]["output"] == "flaky ok"
    # `attempts` counts tries: the flaky step took exactly one more than the clean one.
    assert by_name["flaky"]["attempts"] == by_name["clean"]["attempts"] + 1
    assert by_name["doomed"]["status"] == "Failed"
    assert by_name["doomed"]["error"]["name"] == "MyError"
    assert by_name["doomed"]["error"]["message"] == "doomed"


def test_uncaught_step_failure_fails_the_run_with_step_errored(app: App) -> None:
    run = app.trigger("uncaught")
    assert run["status"] == "Failed", run
    assert attempts(app, run["run_id"], "doomed") == [0]
    output = run["output"]
    assert output["code"] == "step_errored"
    assert output["name"] == "MyError"
    assert output["message"] == "doomed"


def test_retry_after_at_function_level_is_honoured(app: App) -> None:
    run = app.trigger("ra-fn")
    assert run["status"] == "Completed", run
    assert run["output"] == "later"
    seen = app.journal.notes(f"{run['run_id']}:fn")
    assert [a for a, _ in seen] == [0, 1]
    gap = seen[1][1] - seen[0][1]
    assert gap >= RETRY_AFTER.total_seconds() - 0.05, f"retried after {gap:.2f}s"


def test_retry_after_inside_a_step_is_honoured(app: App) -> None:
    run = app.trigger("ra-step")
    assert run["status"] == "Completed", run
    assert run["output"] == "later"
    seen = app.journal.notes(f"{run['run_id']}:step")
    assert [a for a, _ in seen] == [0, 1]
    gap = seen[1][1] - seen[0][1]
    assert gap >= RETRY_AFTER.total_seconds() - 0.05, f"retried after {gap:.2f}s"
