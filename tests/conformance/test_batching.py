"""Event batching (section 5, `batchEvents`): events are collected until `max_size` (run at once)
or until `timeout` after the first one, then one run gets them all in `ctx.events`, in order."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture, poll

FULL_TIMEOUT = datetime.timedelta(seconds=10)  # long: a full batch must not wait for it
SHORT_TIMEOUT = datetime.timedelta(seconds=1)


def build(app: App) -> list[inngest.Function[Any]]:
    by_size = inngest.Batch(max_size=3, timeout=FULL_TIMEOUT)
    by_time = inngest.Batch(max_size=10, timeout=SHORT_TIMEOUT)

    def summary(ctx: inngest.Context | inngest.ContextSync) -> dict[str, Any]:
        return {
            "ids": [e.id for e in ctx.events],
            "n": [e.data["n"] for e in ctx.events],
            "event_id": ctx.event.id,
        }

    if app.is_sync:

        @app.client.create_function(
            fn_id="by-size",
            trigger=inngest.TriggerEvent(event=app.event("size")),
            batch_events=by_size,
            retries=0,
        )
        def batch_by_size(ctx: inngest.ContextSync) -> dict[str, Any]:
            return summary(ctx)

        @app.client.create_function(
            fn_id="by-time",
            trigger=inngest.TriggerEvent(event=app.event("time")),
            batch_events=by_time,
            retries=0,
        )
        def batch_by_time(ctx: inngest.ContextSync) -> dict[str, Any]:
            return summary(ctx)

    else:

        @app.client.create_function(
            fn_id="by-size",
            trigger=inngest.TriggerEvent(event=app.event("size")),
            batch_events=by_size,
            retries=0,
        )
        async def batch_by_size(ctx: inngest.Context) -> dict[str, Any]:
            return summary(ctx)

        @app.client.create_function(
            fn_id="by-time",
            trigger=inngest.TriggerEvent(event=app.event("time")),
            batch_events=by_time,
            retries=0,
        )
        async def batch_by_time(ctx: inngest.Context) -> dict[str, Any]:
            return summary(ctx)

    return [batch_by_size, batch_by_time]


app = app_fixture(build)


def events(app: App, short: str, count: int) -> list[inngest.Event]:
    tag = uuid.uuid4().hex
    return [inngest.Event(name=app.event(short), data={"n": n, "tag": tag}) for n in range(count)]


def only_run(app: App, fn_id: str, timeout: float) -> str:
    """The run id of the function's single run (this app has one run per batch function)."""
    [run] = poll(
        lambda: app.engine.runs(app.slug(fn_id)), timeout=timeout, what=f"a run of {fn_id}"
    )
    return str(run["run_id"])


def test_full_batch_runs_at_once(app: App) -> None:
    sent = time.monotonic()
    ids = app.send_all(events(app, "size", 3))
    run = app.wait_done(only_run(app, "by-size", timeout=FULL_TIMEOUT.total_seconds() / 2))
    assert time.monotonic() - sent < FULL_TIMEOUT.total_seconds() / 2, "waited for the timeout"
    assert run["status"] == "Completed", run
    assert run["output"] == {"ids": ids, "n": [0, 1, 2], "event_id": ids[0]}
    assert len(app.engine.runs(app.slug("by-size"))) == 1
    assert app.engine.run(run["run_id"])["batch_id"]


def test_partial_batch_runs_after_timeout(app: App) -> None:
    batch = events(app, "time", 2)
    first = app.send_all(batch[:1])[0]
    second = app.send_all(batch[1:])[0]
    run = app.wait_done(only_run(app, "by-time", timeout=10))
    assert run["status"] == "Completed", run
    assert run["output"] == {"ids": [first, second], "n": [0, 1], "event_id": first}
    assert len(app.engine.runs(app.slug("by-time"))) == 1
