"""Concurrency (section 5): at most `limit` calls in flight per key. Each step records the window
in which it ran; the windows of one key never overlap more than the limit, and every run still
completes (excess work waits, it is not dropped)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture

WORK_S = 0.3


def build(app: App) -> list[inngest.Function[Any]]:
    per_user = [inngest.Concurrency(limit=1, key="event.data.user")]
    per_fn = [inngest.Concurrency(limit=2)]

    def window(ctx: inngest.Context | inngest.ContextSync, start: float) -> None:
        app.journal.note(ctx.event.data["user"], (start, time.time()))

    if app.is_sync:

        def work(ctx: inngest.ContextSync) -> None:
            start = time.time()
            time.sleep(WORK_S)
            window(ctx, start)

        @app.client.create_function(
            fn_id="per-user",
            trigger=inngest.TriggerEvent(event=app.event("per-user")),
            concurrency=per_user,
            retries=0,
        )
        def one_per_user(ctx: inngest.ContextSync) -> None:
            ctx.step.run("work", lambda: work(ctx))

        @app.client.create_function(
            fn_id="per-fn",
            trigger=inngest.TriggerEvent(event=app.event("per-fn")),
            concurrency=per_fn,
            retries=0,
        )
        def two_per_fn(ctx: inngest.ContextSync) -> None:
            ctx.step.run("work", lambda: work(ctx))

    else:

        async def work_async(ctx: inngest.Context) -> None:
            start = time.time()
            await asyncio.sleep(WORK_S)
            window(ctx, start)

        @app.client.create_function(
            fn_id="per-user",
            trigger=inngest.TriggerEvent(event=app.event("per-user")),
            concurrency=per_user,
            retries=0,
        )
        async def one_per_user(ctx: inngest.Context) -> None:
            await ctx.step.run("work", work_async, ctx)

        @app.client.create_function(
            fn_id="per-fn",
            trigger=inngest.TriggerEvent(event=app.event("per-fn")),
            concurrency=per_fn,
            retries=0,
        )
        async def two_per_fn(ctx: inngest.Context) -> None:
            await ctx.step.run("work", work_async, ctx)

    return [one_per_user, two_per_fn]


app = app_fixture(build)


def max_overlap(windows: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    live = peak = 0
    for _, delta in edges:  # at equal times an end (-1) sorts before a start (+1)
        live += delta
        peak = max(peak, live)
    return peak


def send_and_finish(app: App, short: str, users: list[str]) -> None:
    ids = app.send_all([inngest.Event(name=app.event(short), data={"user": u}) for u in users])
    for event_id in ids:
        run = app.wait_done(app.run_of(event_id)["run_id"], timeout=20)
        assert run["status"] == "Completed", run


def test_limit_one_per_key_never_overlaps(app: App) -> None:
    u1, u2 = f"u1-{uuid.uuid4().hex}", f"u2-{uuid.uuid4().hex}"
    send_and_finish(app, "per-user", [u1, u2, u1, u2, u1])
    for user, count in ((u1, 3), (u2, 2)):
        windows = app.journal.notes(user)
        assert len(windows) == count
        assert max_overlap(windows) == 1, f"{user}: {windows}"


def test_limit_two_per_function(app: App) -> None:
    tag = uuid.uuid4().hex
    send_and_finish(app, "per-fn", [tag] * 5)
    windows = app.journal.notes(tag)
    assert len(windows) == 5
    assert max_overlap(windows) <= 2, windows
