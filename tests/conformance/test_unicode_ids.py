"""Unicode and punctuation in ids (sections 2.2 and 4.1): the `fnId` query parameter is kept
exactly as registered (already URL-encoded), step ids hash as sha1 of their UTF-8 text, and names
round-trip through the REST API."""

from __future__ import annotations

import hashlib
from typing import Any

import inngest

from ._harness import App, app_fixture

FN_ID = "ünïcödé-函数-🚀 &?=/#%"
STEP_IDS = ["étape 1", "步骤/2?&=#", "🚀 launch"]


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("événement-✓"))
    if app.is_sync:

        @app.client.create_function(fn_id=FN_ID, trigger=trigger, retries=0)
        def unicode_fn(ctx: inngest.ContextSync) -> list[str]:
            return [ctx.step.run(step_id, lambda s=step_id: s[::-1]) for step_id in STEP_IDS]

    else:

        @app.client.create_function(fn_id=FN_ID, trigger=trigger, retries=0)
        async def unicode_fn(ctx: inngest.Context) -> list[str]:
            async def reverse(s: str) -> str:
                return s[::-1]

            return [await ctx.step.run(step_id, reverse, step_id) for step_id in STEP_IDS]

    return [unicode_fn]


app = app_fixture(build)


def test_unicode_function_and_step_ids(app: App) -> None:
    run = app.trigger("événement-✓", {"ключ": "значение"})
    assert run["status"] == "Completed", run
    assert run["output"] == [s[::-1] for s in STEP_IDS]
    assert run["function_slug"] == app.slug(FN_ID)

    steps = app.steps(run["run_id"])
    assert [s["name"] for s in steps] == STEP_IDS
    assert [s["id"] for s in steps] == [hashlib.sha1(s.encode()).hexdigest() for s in STEP_IDS]
    assert {c.fn_id for c in app.calls(run_id=run["run_id"])} == {app.slug(FN_ID)}

    listed = app.engine.runs(app.slug(FN_ID))
    assert [r["run_id"] for r in listed] == [run["run_id"]]
