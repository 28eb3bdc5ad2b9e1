"""step.invoke (sections 3.5, 4.5, 4.11; SDK tests invoke_by_object.py, invoke_failure.py,
invoke_timeout.py): the child runs from an `inngest/function.invoked` event, its output becomes
the step's value, its failure reaches the parent as a StepError with name/message/stack, and a
timeout fails the parent with the exact step_errored output from the doc."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from ._harness import App, app_fixture


class MyException(Exception):
    pass


def build(app: App) -> list[inngest.Function[Any]]:
    def ev(short: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=app.event(short))

    def seen(ctx: inngest.Context | inngest.ContextSync) -> dict[str, Any]:
        app.journal.note("child-ok", {"name": ctx.event.name, "data": dict(ctx.event.data)})
        return {"foo": {"bar": 1}}

    def caught(err: inngest.StepError) -> dict[str, Any]:
        return {
            "name": err.name,
            "message": err.message,
            "stack_is_str": isinstance(err.stack, str),
        }

    if app.is_sync:

        @app.client.create_function(fn_id="child-ok", trigger=ev("child-ok"), retries=0)
        def child_ok(ctx: inngest.ContextSync) -> dict[str, Any]:
            return seen(ctx)

        @app.client.create_function(fn_id="child-fails", trigger=ev("child-fails"), retries=0)
        def child_fails(ctx: inngest.ContextSync) -> None:
            raise MyException("oh no")

        @app.client.create_function(fn_id="child-sleeps", trigger=ev("child-sleeps"), retries=0)
        def child_sleeps(ctx: inngest.ContextSync) -> None:
            ctx.step.sleep("long", datetime.timedelta(seconds=60))

        @app.client.create_function(fn_id="parent-ok", trigger=ev("parent-ok"), retries=0)
        def parent_ok(ctx: inngest.ContextSync) -> Any:
            return ctx.step.invoke("call-child", function=child_ok, data={"x": 1})

        @app.client.create_function(fn_id="parent-fails", trigger=ev("parent-fails"), retries=0)
        def parent_fails(ctx: inngest.ContextSync) -> Any:
            try:
                return ctx.step.invoke("call-child", function=child_fails)
            except inngest.StepError as err:
                return caught(err)

        @app.client.create_function(fn_id="parent-timeout", trigger=ev("parent-timeout"), retries=0)
        def parent_timeout(ctx: inngest.ContextSync) -> Any:
            return ctx.step.invoke(
                "call-child", function=child_sleeps, timeout=datetime.timedelta(seconds=1)
            )

    else:

        @app.client.create_function(fn_id="child-ok", trigger=ev("child-ok"), retries=0)
        async def child_ok(ctx: inngest.Context) -> dict[str, Any]:
            return seen(ctx)

        @app.client.create_function(fn_id="child-fails", trigger=ev("child-fails"), retries=0)
        async def child_fails(ctx: inngest.Context) -> None:
            raise MyException("oh no")

        @app.client.create_function(fn_id="child-sleeps", trigger=ev("child-sleeps"), retries=0)
        async def child_sleeps(ctx: inngest.Context) -> None:
            await ctx.step.sleep("long", datetime.timedelta(seconds=60))

        @app.client.create_function(fn_id="parent-ok", trigger=ev("parent-ok"), retries=0)
        async def parent_ok(ctx: inngest.Context) -> Any:
            return await ctx.step.invoke("call-child", function=child_ok, data={"x": 1})

        @app.client.create_function(fn_id="parent-fails", trigger=ev("parent-fails"), retries=0)
        async def parent_fails(ctx: inngest.Context) -> Any:
            try:
                return await ctx.step.invoke("call-child", function=child_fails)
            except inngest.StepError as err:
                return caught(err)

        @app.client.create_function(fn_id="parent-timeout", trigger=ev("parent-timeout"), retries=0)
        async def parent_timeout(ctx: inngest.Context) -> Any:
            return await ctx.step.invoke(
                "call-child", function=child_sleeps, timeout=datetime.timedelta(seconds=1)
            )

    return [child_ok, child_fails, child_sleeps, parent_ok, parent_fails, parent_timeout]


app = app_fixture(build)


def test_invoke_returns_child_output(app: App) -> None:
    run = app.trigger("parent-ok")
    assert run["status"] == "Completed", run
    assert run["output"] == {"foo": {"bar": 1}}

    [child_event] = app.journal.notes("child-ok")
    assert child_event["name"] == "inngest/function.invoked"
    assert child_event["data"]["x"] == 1
    assert child_event["data"]["_inngest"]["fn_id"] == app.slug("child-ok")

    [step] = app.steps(run["run_id"])
    assert (step["name"], step["kind"], step["status"]) == ("call-child", "invoke", "Completed")
    assert step["output"] == {"foo": {"bar": 1}}

    [child_run] = app.engine.runs(app.slug("child-ok"))
    assert child_run["status"] == "Completed"


def test_invoke_failure_reaches_parent_as_step_error(app: App) -> None:
    run = app.trigger("parent-fails")
    assert run["status"] == "Completed", run
    assert run["output"] == {"name": "MyException", "message": "oh no", "stack_is_str": True}


def test_invoke_timeout_fails_parent_with_exact_output(app: App) -> None:
    run = app.trigger("parent-timeout")
    assert run["status"] == "Failed", run
    assert run["output"] == {
        "code": "step_errored",
        "message": "Timed out waiting for invoked function to complete",
        "name": "InngestInvokeTimeoutError",
        "stack": None,
    }
    for child in app.engine.runs(app.slug("child-sleeps"), status="Running"):
        app.engine.cancel(child["run_id"])
