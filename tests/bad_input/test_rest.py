"""REST reads: bad ids, unknown objects and bad parameters get 4xx with a message."""

from __future__ import annotations

import pytest

from .conftest import Client

UNKNOWN_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.mark.parametrize(
    ("method", "path", "status", "needle"),
    [
        ("GET", "/v1/runs/not-a-ulid", 400, "not a valid ULID"),
        ("GET", f"/v1/runs/{UNKNOWN_ULID}", 404, "run not found"),
        ("DELETE", f"/v1/runs/{UNKNOWN_ULID}", 404, "run not found"),
        ("GET", f"/v1/runs/{UNKNOWN_ULID}/steps", 404, "run not found"),
        ("GET", "/v1/events/zzz", 400, "not a valid ULID"),
        ("GET", f"/v1/events/{UNKNOWN_ULID}", 404, "Event not found"),
        ("GET", "/v1/events?limit=0", 400, "limit must be"),
        ("GET", "/v1/events?received_after=yesterday", 400, "RFC 3339"),
        ("GET", "/v1/runs?status=Sleeping", 400, "status must be one of"),
        ("GET", f"/v0/runs/{UNKNOWN_ULID}/actions", 404, "run not found"),
        ("POST", "/v1/apps/sync", 400, "not JSON"),
        ("POST", "/v1/cancellations", 400, "JSON"),
        ("GET", "/v1/webhooks", 501, "not implemented"),
        ("POST", "/v0/connect/flush", 400, "a flushed reply needs its request_id"),
        ("POST", "/invoke/nobody-here", 404, "not found"),
    ],
)
async def test_bad_request_gets_clear_error(
    client: Client, method: str, path: str, status: int, needle: str
) -> None:
    got, body = await client.request(method, path, body=b"" if method == "POST" else None)
    assert got == status, body
    assert isinstance(body, dict) and needle in body["error"], body


async def test_sync_without_url_names_what_to_send(client: Client) -> None:
    status, body = await client.request("POST", "/v1/apps/sync", json={"uri": "x"})
    assert status == 400 and isinstance(body, dict) and "serve URL" in body["error"]


async def test_cancellation_for_unknown_function_is_404(client: Client) -> None:
    status, body = await client.request(
        "POST",
        "/v1/cancellations",
        json={"app_id": "a", "function_id": "f", "started_before": "2026-01-01T00:00:00Z"},
    )
    assert status == 404 and isinstance(body, dict) and "not found" in body["error"]


async def test_engine_survives_garbage_on_every_route(client: Client) -> None:
    garbage = [b"", b"null", b"[]", b"{}", b'{"a":', b"\xff\xfe", b"1" * 10_000]
    routes = ["/fn/register", "/e/k", "/v1/cancellations", "/v1/apps/sync", "/invoke/x"]
    routes += ["/v0/connect/start", "/v0/connect/flush"]
    for route in routes:
        for body in garbage:
            status, _ = await client.request("POST", route, body=body)
            assert status < 500, (route, body[:10], status)
    status, body = await client.request("GET", "/health")
    assert status == 200 and body == {"status": 200, "message": "OK"}
