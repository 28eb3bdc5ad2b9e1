"""Large state (section 4.2; SDK tests steps_that_needs_api and batch_that_needs_api): once a call
body would exceed 4 MiB the engine sends `use_api: true` with empty `steps`/`events` and the SDK
fetches them from /v0/runs/{id}/actions and /batch. Covered with 10 x 1 MiB step outputs and
with a batch of 5 x 1 MiB events."""

from __future__ import annotations

import datetime
from typing import Any

import inngest

from ._harness import App, app_fixture, poll

MIB = 1024 * 1024
MAX_BODY = 4 * MIB


def build(app: App) -> list[inngest.Function[Any]]:
    batch = inngest.Batch(max_size=5, timeout=datetime.timedelta(seconds=10))

    def blob(i: int) -> str:
        return str(i) + "x" * (MIB - 1)

    def batch_summary(ctx: inngest.Context | inngest.ContextSync) -> dict[str, Any]:
        return {
            "n": [e.data["n"] for e in ctx.events],
            "sizes": [len(str(e.data["blob"])) for e in ctx.events],
        }

    if app.is_sync:

        @app.client.create_function(
            fn_id="big-steps", trigger=inngest.TriggerEvent(event=app.event("steps")), retries=0
        )
        def big_steps(ctx: inngest.ContextSync) -> dict[str, Any]:
            outputs = [ctx.step.run(f"blob-{i}", lambda i=i: blob(i)) for i in range(10)]
            return {"heads": [o[0] for o in outputs], "total": sum(len(o) for o in outputs)}

        @app.client.create_function(
            fn_id="big-batch",
            trigger=inngest.TriggerEvent(event=app.event("batch")),
            batch_events=batch,
            retries=0,
        )
        def big_batch(ctx: inngest.ContextSync) -> dict[str, Any]:
            return batch_summary(ctx)

    else:

        @app.client.create_function(
            fn_id="big-steps", trigger=inngest.TriggerEvent(event=app.event("steps")), retries=0
        )
        async def big_steps(ctx: inngest.Context) -> dict[str, Any]:
            async def make(i: int) -> str:
                return blob(i)

            outputs = [await ctx.step.run(f"blob-{i}", make, i) for i in range(10)]
            return {"heads": [o[0] for o in outputs], "total": sum(len(o) for o in outputs)}

        @app.client.create_function(
            fn_id="big-batch",
            trigger=inngest.TriggerEvent(event=app.event("batch")),
            batch_events=batch,
            retries=0,
        )
        async def big_batch(ctx: inngest.Context) -> dict[str, Any]:
            return batch_summary(ctx)

    return [big_steps, big_batch]


app = app_fixture(build)


def assert_used_api(app: App, run_id: str) -> None:
    calls = app.calls(run_id=run_id)
    assert any(c.use_api for c in calls), "no call used use_api"
    sizes = [c.body_size for c in calls]
    assert max(sizes) <= MAX_BODY, f"call bodies over 4 MiB: {sizes}"


def test_ten_one_mib_step_outputs(app: App) -> None:
    run = app.trigger("steps", timeout=60)
    assert run["status"] == "Completed", run
    assert run["output"] == {"heads": [str(i) for i in range(10)], "total": 10 * MIB}
    assert_used_api(app, run["run_id"])


def test_batch_of_events_over_four_mib(app: App) -> None:
    ids = app.send_all(
        [inngest.Event(name=app.event("batch"), data={"n": n, "blob": "y" * MIB}) for n in range(5)]
    )
    assert len(ids) == 5
    [run] = poll(lambda: app.engine.runs(app.slug("big-batch")), timeout=10, what="the batch run")
    run = app.wait_done(run["run_id"], timeout=60)
    assert run["status"] == "Completed", run
    assert run["output"] == {"n": [0, 1, 2, 3, 4], "sizes": [MIB] * 5}
    assert_used_api(app, run["run_id"])
