"""Events API (sections 3.1-3.3 and 8): reserved `inngest/` names are refused with 400; the seed
header makes internal ids deterministic, so a retried POST yields the same ids and starts no
second run; object and array bodies; normalisation on ingest; GET /v1/events lists newest first."""

from __future__ import annotations

import base64
import os
import time
import uuid
from typing import Any

import inngest
import pytest

from ._engine import EngineAPI
from ._harness import App, app_fixture

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("seeded"))

    def record(ctx: inngest.Context | inngest.ContextSync) -> None:
        app.journal.note(ctx.event.data["tag"], ctx.event.id)

    if app.is_sync:

        @app.client.create_function(fn_id="seeded", trigger=trigger, retries=0)
        def seeded(ctx: inngest.ContextSync) -> None:
            record(ctx)

    else:

        @app.client.create_function(fn_id="seeded", trigger=trigger, retries=0)
        async def seeded(ctx: inngest.Context) -> None:
            record(ctx)

    return [seeded]


app = app_fixture(build)


def seeded_ulid(millis: int, entropy: bytes, n: int) -> str:
    """The n-th (1-based) id of a request with seed `millis,base64(entropy)` (section 3.2)."""
    counter = (int.from_bytes(entropy[6:10], "big") + n) & 0xFFFFFFFF
    value = (millis << 80) | int.from_bytes(entropy[:6] + counter.to_bytes(4, "big"), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def seed_header() -> tuple[dict[str, str], int, bytes]:
    millis, entropy = int(time.time() * 1000), os.urandom(10)
    return (
        {"x-inngest-event-id-seed": f"{millis},{base64.b64encode(entropy).decode()}"},
        millis,
        entropy,
    )


def unique_name() -> str:
    return f"events-api/{uuid.uuid4().hex}"


@pytest.mark.parametrize("name", ["inngest/function.failed", "Inngest/anything", "INNGEST/x"])
def test_reserved_names_are_refused(engine_api: EngineAPI, name: str) -> None:
    resp = engine_api.post_events([{"name": name, "data": {}}])
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]


def test_seeded_ids_are_stable_on_retry(engine_api: EngineAPI) -> None:
    name = unique_name()
    headers, millis, entropy = seed_header()
    body = [{"name": name, "data": {"i": 1}}, {"name": name, "data": {"i": 2}}]

    first = engine_api.post_events(body, headers=headers)
    retry = engine_api.post_events(body, headers=headers)
    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    ids = first.json()["ids"]
    assert retry.json()["ids"] == ids
    assert ids == [seeded_ulid(millis, entropy, 1), seeded_ulid(millis, entropy, 2)]

    stored = engine_api.events(name=name)
    assert len(stored) == 4
    assert {e["internal_id"] for e in stored} == set(ids)


def test_seeded_retry_starts_one_run(app: App) -> None:
    tag = uuid.uuid4().hex
    headers, _, _ = seed_header()
    body = [{"name": app.event("seeded"), "data": {"tag": tag}}]
    ids = [app.engine.post_events(body, headers=headers).json()["ids"] for _ in range(2)]
    assert ids[0] == ids[1]

    run = app.wait_done(app.run_of(ids[0][0])["run_id"])
    assert run["status"] == "Completed", run
    sentinel = app.trigger("seeded", {"tag": f"{tag}-sentinel"})  # sent after the retry
    assert sentinel["status"] == "Completed"
    assert len(app.engine.event_runs(ids[0][0])) == 1
    assert app.journal.notes(tag) == [ids[0][0]]


def test_object_and_array_bodies(engine_api: EngineAPI) -> None:
    name = unique_name()
    single = engine_api.post_events({"name": name, "data": {"n": 0}})
    assert single.status_code == 200, single.text
    assert single.json()["status"] == 200
    [single_id] = single.json()["ids"]

    many = engine_api.post_events([{"name": name, "data": {"n": n}} for n in (1, 2, 3)])
    assert many.status_code == 200, many.text
    many_ids = many.json()["ids"]
    assert len(many_ids) == 3
    assert [engine_api.event(i)["data"] for i in [single_id, *many_ids]] == [
        {"n": n} for n in range(4)
    ]


def test_normalisation_on_ingest(engine_api: EngineAPI) -> None:
    name = unique_name()
    resp = engine_api.post_events([{"name": name, "data": {"k": 1, "_inngest": {"fn_id": "x"}}}])
    assert resp.status_code == 200, resp.text
    [internal_id] = resp.json()["ids"]
    event = engine_api.event(internal_id)
    assert event["internal_id"] == internal_id
    assert event["id"] == internal_id
    assert event["name"] == name
    assert event["data"] == {"k": 1}
    assert isinstance(event["ts"], int) and event["ts"] > 0
    assert event["user"] == {}

    null_data = engine_api.post_events([{"name": name, "data": None}])
    assert null_data.status_code == 200, null_data.text
    assert engine_api.event(null_data.json()["ids"][0])["data"] == {}


def test_timestamp_out_of_range_is_refused(engine_api: EngineAPI) -> None:
    resp = engine_api.post_events([{"name": unique_name(), "data": {}, "ts": 1000}])
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]


def test_list_is_newest_first(engine_api: EngineAPI) -> None:
    name = unique_name()
    sent = []
    for n in range(3):
        resp = engine_api.post_events([{"name": name, "data": {"n": n}}])
        assert resp.status_code == 200, resp.text
        sent += resp.json()["ids"]
    listed = engine_api.events(name=name)
    assert [e["internal_id"] for e in listed] == sent[::-1]
