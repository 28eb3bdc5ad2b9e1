"""Sequential steps (sections 4.1, 4.5, 4.6): each step runs once, its memo is replayed to later
calls, a repeated step id is hashed as "<id>:<n>", and every step costs one discovery call."""

from __future__ import annotations

import hashlib
from typing import Any

import inngest

from ._harness import App, app_fixture


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("go"))
    if app.is_sync:

        @app.client.create_function(fn_id="steps", trigger=trigger, retries=0)
        def steps(ctx: inngest.ContextSync) -> dict[str, Any]:
            def ran(name: str, value: Any) -> Any:
                app.journal.note(f"{ctx.run_id}:ran", name)
                return value

            a = ctx.step.run("first", lambda: ran("first", ctx.event.data["x"] + 1))
            b = ctx.step.run("second", lambda: ran("second", a * 10))
            c = [ctx.step.run("add", lambda i=i: ran("add", i)) for i in range(2)]
            return {"a": a, "b": b, "c": c, "event_id": ctx.event.id, "name": ctx.event.name}

    else:

        @app.client.create_function(fn_id="steps", trigger=trigger, retries=0)
        async def steps(ctx: inngest.Context) -> dict[str, Any]:
            async def ran(name: str, value: Any) -> Any:
                app.journal.note(f"{ctx.run_id}:ran", name)
                return value

            a = await ctx.step.run("first", ran, "first", ctx.event.data["x"] + 1)
            b = await ctx.step.run("second", ran, "second", a * 10)
            c = [await ctx.step.run("add", ran, "add", i) for i in range(2)]
            return {"a": a, "b": b, "c": c, "event_id": ctx.event.id, "name": ctx.event.name}

    return [steps]


app = app_fixture(build)


def test_steps_run_once_in_order_and_memos_flow(app: App) -> None:
    event_id = app.send("go", {"x": 1})
    run = app.wait_done(app.run_of(event_id)["run_id"])

    assert run["status"] == "Completed", run
    assert run["output"] == {
        "a": 2,
        "b": 20,
        "c": [0, 1],
        "event_id": event_id,
        "name": app.event("go"),
    }
    assert run["function_slug"] == app.slug("steps")
    assert run["event_id"] == event_id
    assert run["ended_at"] is not None
    assert app.journal.notes(f"{run['run_id']}:ran") == ["first", "second", "add", "add"]


def test_step_history_and_call_count(app: App) -> None:
    run = app.trigger("go", {"x": 5})
    assert run["status"] == "Completed", run

    steps = app.steps(run["run_id"])
    assert [(s["name"], s["kind"], s["status"]) for s in steps] == [
        ("first", "run", "Completed"),
        ("second", "run", "Completed"),
        ("add", "run", "Completed"),
        ("add", "run", "Completed"),
    ]
    assert [s["id"] for s in steps] == [sha1("first"), sha1("second"), sha1("add"), sha1("add:1")]
    assert [s["output"] for s in steps] == [6, 60, 0, 1]
    assert all(s["error"] is None and s["started_at"] and s["ended_at"] for s in steps)

    # One discovery call per step (each runs immediately), then the call that returns 200.
    calls = app.calls(run_id=run["run_id"])
    assert [(c.step_id, c.status) for c in calls] == [("step", 206)] * 4 + [("step", 200)]
    assert [c.attempt for c in calls] == [0] * 5
