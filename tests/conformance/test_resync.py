"""Re-sync during live runs (section 2.5). Version 1 of the app is served at /api/v1 and version 2
at /api/v2 of the same server, with the same app id (like a rolling deploy: the old code is still
reachable). Syncing v2 after v1:
- adds `added`, changes `changed` (new trigger, new code), keeps `kept` (now called at the v2 URL),
- archives `removed`: its in-flight run still finishes, but new events no longer start it,
- and syncing v2 again unchanged answers modified=false."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import inngest
import pytest

from ._engine import EngineAPI
from ._harness import MODES, App, new_client

NAP = datetime.timedelta(seconds=1.5)


def build(app: App, version: int) -> list[inngest.Function[Any]]:
    def ev(short: str) -> inngest.TriggerEvent:
        return inngest.TriggerEvent(event=app.event(short))

    fns: list[inngest.Function[Any]] = []
    if app.is_sync:

        @app.client.create_function(fn_id="kept", trigger=ev("kept"), retries=0)
        def kept(ctx: inngest.ContextSync) -> str:
            return f"kept@v{version}"

        fns.append(kept)
        if version == 1:

            @app.client.create_function(fn_id="removed", trigger=ev("removed"), retries=0)
            def removed(ctx: inngest.ContextSync) -> str:
                ctx.step.sleep("nap", NAP)
                return ctx.step.run("finish", lambda: "removed finished")

            @app.client.create_function(fn_id="changed", trigger=ev("changed-old"), retries=0)
            def changed_v1(ctx: inngest.ContextSync) -> str:
                return "changed@v1"

            fns += [removed, changed_v1]
        else:

            @app.client.create_function(fn_id="changed", trigger=ev("changed-new"), retries=0)
            def changed_v2(ctx: inngest.ContextSync) -> str:
                return "changed@v2"

            @app.client.create_function(fn_id="added", trigger=ev("added"), retries=0)
            def added(ctx: inngest.ContextSync) -> str:
                return "added@v2"

            fns += [changed_v2, added]

    else:

        @app.client.create_function(fn_id="kept", trigger=ev("kept"), retries=0)
        async def kept_async(ctx: inngest.Context) -> str:
            return f"kept@v{version}"

        fns.append(kept_async)
        if version == 1:

            @app.client.create_function(fn_id="removed", trigger=ev("removed"), retries=0)
            async def removed_async(ctx: inngest.Context) -> str:
                async def finish() -> str:
                    return "removed finished"

                await ctx.step.sleep("nap", NAP)
                return await ctx.step.run("finish", finish)

            @app.client.create_function(fn_id="changed", trigger=ev("changed-old"), retries=0)
            async def changed_v1_async(ctx: inngest.Context) -> str:
                return "changed@v1"

            fns += [removed_async, changed_v1_async]
        else:

            @app.client.create_function(fn_id="changed", trigger=ev("changed-new"), retries=0)
            async def changed_v2_async(ctx: inngest.Context) -> str:
                return "changed@v2"

            @app.client.create_function(fn_id="added", trigger=ev("added"), retries=0)
            async def added_async(ctx: inngest.Context) -> str:
                return "added@v2"

            fns += [changed_v2_async, added_async]

    return fns


@pytest.fixture(scope="module", params=MODES)
def app(request: pytest.FixtureRequest, engine_api: EngineAPI) -> Iterator[App]:
    """Serves v1 and v2 side by side; syncing is left to the test."""
    served = App(
        mode=request.param,
        client=new_client(engine_api.url, f"resync-{request.param}"),
        engine=engine_api,
    )
    served.serve_url = served.mount(build(served, 1), "/api/v1")
    served.mount(build(served, 2), "/api/v2")
    with served.server.running():
        yield served


def v2_url(app: App) -> str:
    return f"{app.server.origin}/api/v2"


def test_resync_adds_changes_and_removes_during_live_runs(app: App) -> None:
    assert app.sync_ok(app.serve_url)["modified"] is True
    assert app.trigger("changed-old")["output"] == "changed@v1"

    live = app.run_of(app.send("removed"))["run_id"]
    app.wait_call(live, in_flight=False)  # now sleeping
    assert app.sync_ok(v2_url(app))["modified"] is True

    finished = app.wait_done(live)
    assert finished["status"] == "Completed", finished
    assert finished["output"] == "removed finished"

    stale_removed = app.send("removed")
    stale_changed = app.send("changed-old")
    assert app.trigger("changed-new")["output"] == "changed@v2"
    assert app.trigger("kept")["output"] == "kept@v2"
    assert app.trigger("added")["output"] == "added@v2"  # sent after the stale events
    assert app.engine.event_runs(stale_removed) == []
    assert app.engine.event_runs(stale_changed) == []


def test_identical_resync_is_not_modified(app: App) -> None:
    app.sync_ok(v2_url(app))
    again = app.sync_ok(v2_url(app))
    assert again["modified"] is False
    assert app.trigger("kept")["output"] == "kept@v2"
