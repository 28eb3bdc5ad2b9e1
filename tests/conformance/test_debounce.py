"""Debounce (section 5; SDK test debounce.py): events with the same key within the period collapse
into one run, started with the last event; another key gets its own run."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture

PERIOD = datetime.timedelta(seconds=1)


def build(app: App) -> list[inngest.Function[Any]]:
    debounce = inngest.Debounce(period=PERIOD, key="event.data.key")
    trigger = inngest.TriggerEvent(event=app.event("go"))

    def record(ctx: inngest.Context | inngest.ContextSync) -> dict[str, Any]:
        app.journal.note(
            ctx.event.data["batch"], {"id": ctx.event.id, "data": dict(ctx.event.data)}
        )
        return dict(ctx.event.data)

    if app.is_sync:

        @app.client.create_function(
            fn_id="debounced", trigger=trigger, debounce=debounce, retries=0
        )
        def debounced(ctx: inngest.ContextSync) -> dict[str, Any]:
            return record(ctx)

    else:

        @app.client.create_function(
            fn_id="debounced", trigger=trigger, debounce=debounce, retries=0
        )
        async def debounced(ctx: inngest.Context) -> dict[str, Any]:
            return record(ctx)

    return [debounced]


app = app_fixture(build)


def test_two_events_give_one_run_with_the_last_event(app: App) -> None:
    batch = uuid.uuid4().hex
    first = app.send("go", {"batch": batch, "key": "a", "n": 1})
    last = app.send("go", {"batch": batch, "key": "a", "n": 2})
    other = app.send("go", {"batch": batch, "key": "b", "n": 3})

    run = app.wait_done(app.run_of(last, timeout=10)["run_id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"batch": batch, "key": "a", "n": 2}
    other_run = app.wait_done(app.run_of(other, timeout=10)["run_id"])
    assert other_run["output"] == {"batch": batch, "key": "b", "n": 3}

    time.sleep(0.5)  # nothing else may start for this batch after the timers fired
    seen = app.journal.notes(batch)
    assert sorted(s["data"]["n"] for s in seen) == [2, 3]
    assert {s["id"] for s in seen} == {last, other}
    assert app.engine.event_runs(first) == []
    assert len(app.engine.runs(app.slug("debounced"))) == 2
