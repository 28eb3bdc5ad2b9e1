"""wait_for_event (sections 4.4, 4.5, 4.10; SDK tests wait_for_event_fulfill.py,
wait_for_event_timeout_if_exp_not_match.py, ..._name_not_match.py): the step resolves to the
whole matching event, or to None when the name or the `if` expression does not match before the
timeout. Events received before the waiter existed do not count."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture

IF_EXP = "event.data.id == async.data.id"


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("start"))

    def summary(ev: inngest.Event | None) -> dict[str, Any]:
        if ev is None:
            return {"matched": None}
        return {"matched": {"name": ev.name, "data": dict(ev.data), "id": ev.id}}

    def timeout(ctx: inngest.Context | inngest.ContextSync) -> datetime.timedelta:
        return datetime.timedelta(seconds=ctx.event.data["timeout"])

    if app.is_sync:

        @app.client.create_function(fn_id="waiter", trigger=trigger, retries=0)
        def waiter(ctx: inngest.ContextSync) -> dict[str, Any]:
            ev = ctx.step.wait_for_event(
                "wait", event=app.event("done"), if_exp=IF_EXP, timeout=timeout(ctx)
            )
            return summary(ev)

    else:

        @app.client.create_function(fn_id="waiter", trigger=trigger, retries=0)
        async def waiter(ctx: inngest.Context) -> dict[str, Any]:
            ev = await ctx.step.wait_for_event(
                "wait", event=app.event("done"), if_exp=IF_EXP, timeout=timeout(ctx)
            )
            return summary(ev)

    return [waiter]


app = app_fixture(build)


def start(app: App, timeout_s: int) -> tuple[str, dict[str, Any]]:
    """Trigger the waiter; return its correlation id and run, 0.5 s after the run appeared."""
    corr = uuid.uuid4().hex
    run = app.run_of(app.send("start", {"id": corr, "timeout": timeout_s}))
    time.sleep(0.5)  # like the SDK test: the waiter must exist within about 0.5 s
    return corr, run


def test_fulfilled_by_matching_event(app: App) -> None:
    corr, run = start(app, timeout_s=30)
    done_id = app.send("done", {"id": corr, "extra": 1})

    run = app.wait_done(run["run_id"], timeout=10)
    assert run["status"] == "Completed", run
    assert run["output"] == {
        "matched": {"name": app.event("done"), "data": {"id": corr, "extra": 1}, "id": done_id}
    }
    [step] = app.steps(run["run_id"])
    assert (step["name"], step["kind"], step["status"]) == ("wait", "wait_for_event", "Completed")


def test_if_expression_not_matched_times_out_with_none(app: App) -> None:
    _, run = start(app, timeout_s=1)
    app.send("done", {"id": "someone-else"})
    run = app.wait_done(run["run_id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"matched": None}


def test_name_not_matched_times_out_with_none(app: App) -> None:
    corr, run = start(app, timeout_s=1)
    app.send("not-done", {"id": corr})
    run = app.wait_done(run["run_id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"matched": None}


def test_times_out_with_none_ignoring_earlier_events(app: App) -> None:
    corr = uuid.uuid4().hex
    app.send("done", {"id": corr})  # before the run exists: must not fulfil the wait
    run = app.run_of(app.send("start", {"id": corr, "timeout": 1}))
    run = app.wait_done(run["run_id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"matched": None}
