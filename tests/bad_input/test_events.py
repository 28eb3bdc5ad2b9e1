"""POST /e/{key}: every malformed event gets a 400 naming the problem; nothing valid is lost."""

from __future__ import annotations

import pytest

from .conftest import Client

OK_EVENT = {"name": "demo/ok", "data": {"n": 1}}


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"data": {}}, "'name' is required"),
        ({"name": ""}, "'name' is required"),
        ({"name": "inngest/function.failed"}, "reserved for internal use"),
        ({"name": "INNGEST/anything"}, "reserved for internal use"),
        ({"name": "a", "data": [1, 2]}, "'data' must be a JSON object"),
        ({"name": "a", "user": "bob"}, "'user' must be a JSON object"),
        ({"name": "a", "ts": 1.5}, "'ts' must be an integer"),
        ({"name": "a", "ts": 1000}, "between 1980 and 2100"),
        ({"name": "a", "id": 7}, "'id' must be a string"),
        ({"name": "a", "colour": "red"}, "unknown event field 'colour'"),
        ({"name": "x" * 256}, "longer than 255"),
        ("just a string", "JSON object or array"),
        (42, "JSON object or array"),
    ],
)
async def test_bad_event_is_refused_with_its_reason(
    client: Client, payload: object, needle: str
) -> None:
    status, body = await client.request("POST", "/e/key", json=payload)
    assert status == 400
    assert isinstance(body, dict) and needle in body["error"], body
    assert body["ids"] == []


async def test_body_that_is_not_json_gets_json_400(client: Client) -> None:
    status, body = await client.request("POST", "/e/key", body=b"{not json")
    assert status == 400
    assert isinstance(body, dict) and "not JSON" in body["error"]


async def test_events_before_a_bad_one_are_kept_and_named(client: Client) -> None:
    status, body = await client.request(
        "POST", "/e/key", json=[OK_EVENT, OK_EVENT, {"data": {}}, OK_EVENT]
    )
    assert status == 400
    assert isinstance(body, dict)
    assert len(body["ids"]) == 2 and "event 2" in body["error"]
    for internal_id in body["ids"]:
        status, event = await client.request("GET", f"/v1/events/{internal_id}")
        assert status == 200 and isinstance(event, dict)
        assert event["data"]["name"] == "demo/ok"


async def test_oversized_event_is_refused(client: Client) -> None:
    big = {"name": "demo/big", "data": {"blob": "x" * (3 * 1024 * 1024)}}
    status, body = await client.request("POST", "/e/key", json=big)
    assert status == 400 and isinstance(body, dict) and "3 MiB" in body["error"]


async def test_too_many_events_in_one_request(client: Client) -> None:
    status, body = await client.request("POST", "/e/key", json=[OK_EVENT] * 5001)
    assert status == 400 and isinstance(body, dict) and "5000" in body["error"]


async def test_data_inngest_is_stripped_and_defaults_filled(client: Client) -> None:
    status, body = await client.request(
        "POST", "/e/key", json={"name": "demo/x", "data": {"_inngest": {"fn_id": "evil"}, "k": 1}}
    )
    assert status == 200 and isinstance(body, dict)
    status, event = await client.request("GET", f"/v1/events/{body['ids'][0]}")
    assert isinstance(event, dict)
    data = event["data"]
    assert data["data"] == {"k": 1}
    assert data["user"] == {} and isinstance(data["ts"], int) and data["id"] == body["ids"][0]
