"""Sleep and sleep_until (sections 4.4, 4.6, 4.9): the run resumes no earlier than the wake time
carried in the op's `name`, the step is recorded as a completed sleep, and a sleep_until in the
past resumes right away."""

from __future__ import annotations

import datetime
import time
from typing import Any

import inngest

from ._harness import App, app_fixture

NAP = datetime.timedelta(seconds=1)


def build(app: App) -> list[inngest.Function[Any]]:
    def stamp(ctx: inngest.Context | inngest.ContextSync, label: str) -> float:
        now = time.time()
        app.journal.note(f"{ctx.run_id}:{label}", now)
        return now

    def until(ctx: inngest.Context | inngest.ContextSync) -> datetime.datetime:
        return datetime.datetime.fromisoformat(ctx.event.data["until"])

    if app.is_sync:

        @app.client.create_function(
            fn_id="sleep", trigger=inngest.TriggerEvent(event=app.event("sleep")), retries=0
        )
        def sleep(ctx: inngest.ContextSync) -> str:
            ctx.step.run("before", lambda: stamp(ctx, "before"))
            ctx.step.sleep("nap", NAP)
            ctx.step.run("after", lambda: stamp(ctx, "after"))
            return "rested"

        @app.client.create_function(
            fn_id="sleep-until", trigger=inngest.TriggerEvent(event=app.event("until")), retries=0
        )
        def sleep_until(ctx: inngest.ContextSync) -> str:
            ctx.step.run("before", lambda: stamp(ctx, "before"))
            ctx.step.sleep_until("alarm", until(ctx))
            ctx.step.run("after", lambda: stamp(ctx, "after"))
            return "woke"

    else:

        @app.client.create_function(
            fn_id="sleep", trigger=inngest.TriggerEvent(event=app.event("sleep")), retries=0
        )
        async def sleep(ctx: inngest.Context) -> str:
            await ctx.step.run("before", stamp, ctx, "before")
            await ctx.step.sleep("nap", NAP)
            await ctx.step.run("after", stamp, ctx, "after")
            return "rested"

        @app.client.create_function(
            fn_id="sleep-until", trigger=inngest.TriggerEvent(event=app.event("until")), retries=0
        )
        async def sleep_until(ctx: inngest.Context) -> str:
            await ctx.step.run("before", stamp, ctx, "before")
            await ctx.step.sleep_until("alarm", until(ctx))
            await ctx.step.run("after", stamp, ctx, "after")
            return "woke"

    return [sleep, sleep_until]


app = app_fixture(build)


def gap(app: App, run_id: str) -> float:
    [before] = app.journal.notes(f"{run_id}:before")
    [after] = app.journal.notes(f"{run_id}:after")
    return float(after - before)


def test_sleep_resumes_after_the_duration(app: App) -> None:
    run = app.trigger("sleep")
    assert run["status"] == "Completed", run
    assert run["output"] == "rested"
    assert gap(app, run["run_id"]) >= NAP.total_seconds() - 0.05

    steps = app.steps(run["run_id"])
    assert [(s["name"], s["kind"], s["status"]) for s in steps] == [
        ("before", "run", "Completed"),
        ("nap", "sleep", "Completed"),
        ("after", "run", "Completed"),
    ]


def test_sleep_until_resumes_at_the_given_time(app: App) -> None:
    wake = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1.5)
    event_id = app.send("until", {"until": wake.isoformat()})
    run = app.wait_done(app.run_of(event_id)["run_id"])
    assert run["status"] == "Completed", run
    [after] = app.journal.notes(f"{run['run_id']}:after")
    assert after >= wake.timestamp() - 0.05
    kinds = [(s["name"], s["kind"]) for s in app.steps(run["run_id"])]
    assert ("alarm", "sleep") in kinds


def test_sleep_until_in_the_past_resumes_right_away(app: App) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    run = app.trigger("until", {"until": past.isoformat()})
    assert run["status"] == "Completed", run
    assert run["output"] == "woke"
    assert gap(app, run["run_id"]) < 1.0
