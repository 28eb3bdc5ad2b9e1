"""The harness itself, without the engine: the served SDK app answers the SDK's inspection JSON,
executes a hand-made call (section 4.1), and the call log records that call."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import inngest
import pytest

from ._engine import EngineAPI
from ._harness import MODES, App, serve_app


def build(app: App) -> list[inngest.Function[Any]]:
    if app.is_sync:

        @app.client.create_function(
            fn_id="echo", trigger=inngest.TriggerEvent(event=app.event("echo"))
        )
        def echo(ctx: inngest.ContextSync) -> dict[str, Any]:
            app.journal.note(ctx.run_id, ctx.attempt)
            out = ctx.step.run("double", lambda: ctx.event.data["x"] * 2)
            return {"doubled": out}

    else:

        @app.client.create_function(
            fn_id="echo", trigger=inngest.TriggerEvent(event=app.event("echo"))
        )
        async def echo(ctx: inngest.Context) -> dict[str, Any]:
            app.journal.note(ctx.run_id, ctx.attempt)

            async def double() -> Any:
                return ctx.event.data["x"] * 2

            out = await ctx.step.run("double", double)
            return {"doubled": out}

    return [echo]


@pytest.fixture(scope="module", params=MODES)
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    offline = EngineAPI("http://127.0.0.1:9")  # never contacted: no sync, no sends
    with serve_app(offline, f"harness-{request.param}", request.param, build, sync=False) as served:
        yield served
    offline.close()


def call_body(app: App, run_id: str, steps: dict[str, Any]) -> dict[str, Any]:
    event = {
        "name": app.event("echo"),
        "data": {"x": 21},
        "id": "01J0000000000000000000EVNT",
        "ts": 1,
        "user": {},
    }
    return {
        "event": event,
        "events": [event],
        "steps": steps,
        "ctx": {
            "run_id": run_id,
            "attempt": 0,
            "max_attempts": 1,
            "disable_immediate_execution": False,
            "use_api": False,
            "stack": {"stack": list(steps), "current": len(steps)},
        },
        "use_api": False,
        "version": 2,
    }


def test_inspection_answers_in_dev_mode(app: App) -> None:
    resp = httpx.get(app.serve_url)
    assert resp.status_code == 200
    assert resp.headers["x-inngest-sdk"].startswith("inngest-py:v")
    body = resp.json()
    assert body["mode"] == "dev"
    assert body["function_count"] == 1


def test_call_log_records_calls(app: App) -> None:
    slug = app.slug("echo")
    run_id = f"01J00000000000000000RUN{app.mode[0].upper()}01"
    url = f"{app.serve_url}?fnId={slug}&stepId=step"

    first = httpx.post(url, json=call_body(app, run_id, {}))
    assert first.status_code == 206, first.text
    [op] = first.json()
    assert op["op"] == "StepRun"
    assert op["id"] == hashlib.sha1(b"double").hexdigest()
    assert op["data"] == 42

    second = httpx.post(url, json=call_body(app, run_id, {op["id"]: {"data": 42}}))
    assert second.status_code == 200
    assert second.json() == {"doubled": 42}

    calls = app.calls(run_id=run_id)
    assert [(c.fn_id, c.step_id, c.attempt, c.status) for c in calls] == [
        (slug, "step", 0, 206),
        (slug, "step", 0, 200),
    ]
    assert all(not c.in_flight and c.ended is not None and c.ended >= c.started for c in calls)
    assert calls[0].use_api is False
    assert app.journal.notes(run_id) == [0, 0]
