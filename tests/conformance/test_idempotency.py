"""Idempotency (sections 3.2 and 5): an `idempotency` key expression allows one run per key value
in 24 h, and a user-supplied event id starts a function at most once even when the event is sent
again (the second event is stored, but starts no run)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import inngest

from ._harness import App, app_fixture


def build(app: App) -> list[inngest.Function[Any]]:
    def record(ctx: inngest.Context | inngest.ContextSync) -> int:
        app.journal.note(ctx.event.data["tag"], ctx.event.data["n"])
        return int(ctx.event.data["n"])

    keyed_trigger = inngest.TriggerEvent(event=app.event("keyed"))
    plain_trigger = inngest.TriggerEvent(event=app.event("plain"))
    if app.is_sync:

        @app.client.create_function(
            fn_id="keyed", trigger=keyed_trigger, idempotency="event.data.key", retries=0
        )
        def keyed(ctx: inngest.ContextSync) -> int:
            return record(ctx)

        @app.client.create_function(fn_id="plain", trigger=plain_trigger, retries=0)
        def plain(ctx: inngest.ContextSync) -> int:
            return record(ctx)

    else:

        @app.client.create_function(
            fn_id="keyed", trigger=keyed_trigger, idempotency="event.data.key", retries=0
        )
        async def keyed(ctx: inngest.Context) -> int:
            return record(ctx)

        @app.client.create_function(fn_id="plain", trigger=plain_trigger, retries=0)
        async def plain(ctx: inngest.Context) -> int:
            return record(ctx)

    return [keyed, plain]


app = app_fixture(build)


def finished(app: App, event_id: str) -> dict[str, Any]:
    run = app.wait_done(app.run_of(event_id)["run_id"])
    assert run["status"] == "Completed", run
    return run


def test_same_idempotency_key_runs_once(app: App) -> None:
    tag, key = uuid.uuid4().hex, uuid.uuid4().hex
    first = app.send("keyed", {"tag": tag, "key": key, "n": 1})
    again = app.send("keyed", {"tag": tag, "key": key, "n": 2})
    other = app.send("keyed", {"tag": tag, "key": f"{key}-other", "n": 3})

    finished(app, first)
    finished(app, other)  # sent after `again`, so `again` has been handled by now
    time.sleep(0.3)
    assert app.engine.event_runs(again) == []
    assert sorted(app.journal.notes(tag)) == [1, 3]


def test_same_event_id_sent_twice_runs_once(app: App) -> None:
    tag, user_id = uuid.uuid4().hex, f"order-{uuid.uuid4().hex}"
    first = app.send("plain", {"tag": tag, "n": 1}, id=user_id)
    again = app.send("plain", {"tag": tag, "n": 2}, id=user_id)
    assert first != again, "each delivery gets its own internal id"
    sentinel = app.send("plain", {"tag": tag, "n": 3})

    finished(app, first)
    finished(app, sentinel)
    time.sleep(0.3)
    assert app.engine.event_runs(again) == []
    assert app.engine.event(again)["id"] == user_id
    assert sorted(app.journal.notes(tag)) == [1, 3]
