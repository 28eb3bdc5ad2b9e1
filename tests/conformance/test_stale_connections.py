"""Stale keep-alive connections (protocol 4.7: only a call the SDK answered may cost an attempt).

The app is reached through a proxy that resets any request arriving on a connection idle for
more than 1 s, as a server whose idle timeout just ran out does. A `retries=0` run that sleeps
2 s sends its next call on a pooled connection idle for 2 s: that request never reaches the
SDK, so the engine must send it again on a fresh connection without spending the run's only
attempt, and the run completes with each step run once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest

from ._engine import EngineAPI
from ._harness import App, serve_app
from ._idle_reset_proxy import IdleResetProxy

IDLE_S = 1.0
NAP = datetime.timedelta(seconds=2)


def build(app: App) -> list[inngest.Function[Any]]:
    if app.is_sync:

        @app.client.create_function(
            fn_id="nap", trigger=inngest.TriggerEvent(event=app.event("nap")), retries=0
        )
        def nap(ctx: inngest.ContextSync) -> str:
            ctx.step.run("before", lambda: app.journal.note(f"{ctx.run_id}:before"))
            ctx.step.sleep("nap", NAP)
            ctx.step.run("after", lambda: app.journal.note(f"{ctx.run_id}:after"))
            return "rested"

    else:

        @app.client.create_function(
            fn_id="nap", trigger=inngest.TriggerEvent(event=app.event("nap")), retries=0
        )
        async def nap(ctx: inngest.Context) -> str:
            async def note(label: str) -> None:
                app.journal.note(f"{ctx.run_id}:{label}")

            await ctx.step.run("before", note, "before")
            await ctx.step.sleep("nap", NAP)
            await ctx.step.run("after", note, "after")
            return "rested"

    return [nap]


@pytest.fixture(scope="module", params=["sync", "async"])
def proxied(
    request: pytest.FixtureRequest, engine_api: EngineAPI
) -> Iterator[tuple[App, IdleResetProxy]]:
    app_id = f"stale-connections-{request.param}"
    with (
        serve_app(engine_api, app_id, request.param, build, sync=False) as app,
        IdleResetProxy(app.server.port, IDLE_S).running() as proxy,
    ):
        app.sync_ok(app.serve_url.replace(app.server.origin, proxy.origin))
        yield app, proxy


def test_a_request_reset_on_an_idle_connection_costs_no_attempt(
    proxied: tuple[App, IdleResetProxy],
) -> None:
    app, proxy = proxied
    resets_before = proxy.resets
    resent_before = _resent(app)
    run = app.wait_done(app.run_of(app.send("nap"))["run_id"], timeout=30)

    assert proxy.resets > resets_before, "the proxy never reset a request: the test proved nothing"
    assert _resent(app) > resent_before, "the engine did not count a resend"
    assert run["status"] == "Completed", app.describe(run["run_id"], run)
    assert run["output"] == "rested"
    assert len(app.journal.notes(f"{run['run_id']}:before")) == 1
    assert len(app.journal.notes(f"{run['run_id']}:after")) == 1
    assert all(c.attempt == 0 for c in app.calls(run_id=run["run_id"]))


def _resent(app: App) -> int:
    resp = httpx.get(f"{app.engine.url}/v1/stats", timeout=5)
    return int(resp.json()["data"]["calls_resent"])
