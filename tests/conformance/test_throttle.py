"""Throttle (section 5): at most `limit` run starts per `period` plus `burst`; extra runs are
delayed, never dropped. With limit=1, period=1s, burst=1, no three starts fit in 0.9 s."""

from __future__ import annotations

import datetime
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture

PERIOD = datetime.timedelta(seconds=1)
LIMIT, BURST = 1, 1


def build(app: App) -> list[inngest.Function[Any]]:
    throttle = inngest.Throttle(limit=LIMIT, period=PERIOD, burst=BURST)
    trigger = inngest.TriggerEvent(event=app.event("go"))

    def started(ctx: inngest.Context | inngest.ContextSync) -> float:
        now = time.time()
        app.journal.note(ctx.event.data["tag"], now)
        return now

    if app.is_sync:

        @app.client.create_function(
            fn_id="throttled", trigger=trigger, throttle=throttle, retries=0
        )
        def throttled(ctx: inngest.ContextSync) -> float:
            return ctx.step.run("start", lambda: started(ctx))

    else:

        @app.client.create_function(
            fn_id="throttled", trigger=trigger, throttle=throttle, retries=0
        )
        async def throttled(ctx: inngest.Context) -> float:
            async def start() -> float:
                return started(ctx)

            return await ctx.step.run("start", start)

    return [throttled]


app = app_fixture(build)


def test_throttle_delays_but_never_drops(app: App) -> None:
    tag = uuid.uuid4().hex
    ids = app.send_all([inngest.Event(name=app.event("go"), data={"tag": tag}) for _ in range(4)])
    for event_id in ids:
        run = app.wait_done(app.run_of(event_id)["run_id"], timeout=20)
        assert run["status"] == "Completed", run

    starts = sorted(app.journal.notes(tag))
    assert len(starts) == 4
    per_window = LIMIT + BURST
    spans = [starts[i + per_window] - starts[i] for i in range(len(starts) - per_window)]
    assert all(span >= 0.9 * PERIOD.total_seconds() for span in spans), (
        f"more than {per_window} starts within {PERIOD}: {[round(s - starts[0], 3) for s in starts]}"
    )
