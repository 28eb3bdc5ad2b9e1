"""Parallel steps (section 4.6, SDK tests parallel_mode_default.py, parallel_mode_race.py and
parallel_steps.py): exact call counts and step order in wait and race mode, and the
`disable_immediate_execution` rule after an invoke fan-out (6 calls, not 7)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import inngest

from ._harness import App, app_fixture

SLOW_S = 1.0  # b.1 and b.2 take this long; a.1 and a.2 are instant


def build(app: App) -> list[inngest.Function[Any]]:
    def done(run_id: str, name: str) -> str:
        app.journal.note(f"{run_id}:done", name)
        return name

    if app.is_sync:

        def two_groups(ctx: inngest.ContextSync, mode: inngest.ParallelMode) -> None:
            def slow(name: str) -> str:
                time.sleep(SLOW_S)
                return done(ctx.run_id, name)

            def a() -> None:
                ctx.step.run("a.1", lambda: done(ctx.run_id, "a.1"))
                ctx.step.run("a.2", lambda: done(ctx.run_id, "a.2"))

            def b() -> None:
                ctx.step.run("b.1", lambda: slow("b.1"))
                ctx.step.run("b.2", lambda: slow("b.2"))

            ctx.group.parallel((a, b), parallel_mode=mode)

        @app.client.create_function(
            fn_id="wait-mode", trigger=inngest.TriggerEvent(event=app.event("wait")), retries=0
        )
        def wait_mode(ctx: inngest.ContextSync) -> str:
            two_groups(ctx, inngest.ParallelMode.WAIT)
            return "done"

        @app.client.create_function(
            fn_id="race-mode", trigger=inngest.TriggerEvent(event=app.event("race")), retries=0
        )
        def race_mode(ctx: inngest.ContextSync) -> str:
            two_groups(ctx, inngest.ParallelMode.RACE)
            return "done"

        @app.client.create_function(
            fn_id="child", trigger=inngest.TriggerEvent(event=app.event("child")), retries=0
        )
        def child(ctx: inngest.ContextSync) -> int:
            return int(ctx.event.data["n"]) + 1

        @app.client.create_function(
            fn_id="fan-out", trigger=inngest.TriggerEvent(event=app.event("fan")), retries=0
        )
        def fan_out(ctx: inngest.ContextSync) -> dict[str, Any]:
            results = ctx.group.parallel(
                (
                    lambda: ctx.step.invoke("invoke", function=child, data={"n": 1}),
                    lambda: ctx.step.run("1a", lambda: "1a"),
                    lambda: ctx.step.run("1b", lambda: "1b"),
                    lambda: ctx.step.send_event("send", inngest.Event(name=app.event("noise"))),
                )
            )
            after = ctx.step.run("after", lambda: "after")
            return {"invoked": results[0], "runs": [results[1], results[2]], "after": after}

    else:

        async def two_groups_async(ctx: inngest.Context, mode: inngest.ParallelMode) -> None:
            async def instant(name: str) -> str:
                return done(ctx.run_id, name)

            async def slow(name: str) -> str:
                await asyncio.sleep(SLOW_S)
                return done(ctx.run_id, name)

            async def a() -> None:
                await ctx.step.run("a.1", instant, "a.1")
                await ctx.step.run("a.2", instant, "a.2")

            async def b() -> None:
                await ctx.step.run("b.1", slow, "b.1")
                await ctx.step.run("b.2", slow, "b.2")

            await ctx.group.parallel((a, b), parallel_mode=mode)

        @app.client.create_function(
            fn_id="wait-mode", trigger=inngest.TriggerEvent(event=app.event("wait")), retries=0
        )
        async def wait_mode(ctx: inngest.Context) -> str:
            await two_groups_async(ctx, inngest.ParallelMode.WAIT)
            return "done"

        @app.client.create_function(
            fn_id="race-mode", trigger=inngest.TriggerEvent(event=app.event("race")), retries=0
        )
        async def race_mode(ctx: inngest.Context) -> str:
            await two_groups_async(ctx, inngest.ParallelMode.RACE)
            return "done"

        @app.client.create_function(
            fn_id="child", trigger=inngest.TriggerEvent(event=app.event("child")), retries=0
        )
        async def child(ctx: inngest.Context) -> int:
            return int(ctx.event.data["n"]) + 1

        @app.client.create_function(
            fn_id="fan-out", trigger=inngest.TriggerEvent(event=app.event("fan")), retries=0
        )
        async def fan_out(ctx: inngest.Context) -> dict[str, Any]:
            async def value(name: str) -> str:
                return name

            results = await ctx.group.parallel(
                (
                    lambda: ctx.step.invoke("invoke", function=child, data={"n": 1}),
                    lambda: ctx.step.run("1a", value, "1a"),
                    lambda: ctx.step.run("1b", value, "1b"),
                    lambda: ctx.step.send_event("send", inngest.Event(name=app.event("noise"))),
                )
            )
            after = await ctx.step.run("after", value, "after")
            return {"invoked": results[0], "runs": [results[1], results[2]], "after": after}

    return [wait_mode, race_mode, child, fan_out]


app = app_fixture(build)


def completed_run_steps(app: App, run_id: str) -> list[str]:
    return [
        s["name"] for s in app.steps(run_id) if s["kind"] == "run" and s["status"] == "Completed"
    ]


def test_wait_mode_takes_7_calls(app: App) -> None:
    run = app.trigger("wait")
    assert run["status"] == "Completed", run
    assert run["output"] == "done"

    order = ["a.1", "b.1", "a.2", "b.2"]
    assert app.journal.notes(f"{run['run_id']}:done") == order
    assert completed_run_steps(app, run["run_id"]) == order

    calls = app.calls(run_id=run["run_id"])
    # plan [a.1, b.1], run a.1, run b.1, discover -> plan [a.2, b.2], run a.2, run b.2, discover -> 200
    assert len(calls) == 7, [(c.step_id, c.status) for c in calls]
    assert [c.step_id for c in calls].count("step") == 3
    assert calls[-1].status == 200


def test_race_mode_takes_9_calls(app: App) -> None:
    run = app.trigger("race")
    assert run["status"] == "Completed", run

    order = ["a.1", "a.2", "b.1", "b.2"]
    assert app.journal.notes(f"{run['run_id']}:done") == order
    assert completed_run_steps(app, run["run_id"]) == order

    calls = app.calls(run_id=run["run_id"])
    # plan, a.1, b.1 | discover, a.2 | discover ([b.1] ignored) | b.1 done: discover, b.2 | discover -> 200
    assert len(calls) == 9, [(c.step_id, c.status) for c in calls]
    targeted = [c.step_id for c in calls if c.step_id != "step"]
    assert len(targeted) == len(set(targeted)) == 4, "a step was targeted twice"
    assert calls[-1].status == 200


def test_invoke_fan_out_then_step_takes_6_calls(app: App) -> None:
    run = app.trigger("fan")
    assert run["status"] == "Completed", run
    assert run["output"] == {"invoked": 2, "runs": ["1a", "1b"], "after": "after"}

    calls = app.calls(run_id=run["run_id"])
    # discover (4 ops), run 1a, 1b, send; child done -> discover runs "after" at once; discover -> 200
    assert len(calls) == 6, [(c.step_id, c.status, c.disable_immediate_execution) for c in calls]
    assert calls[-2].disable_immediate_execution is False
    assert calls[-1].status == 200
