"""POST /fn/register: a refused sync says which function and which field, and is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Client

URL = "http://127.0.0.1:9/api/inngest"


def fn(slug: str = "app-f", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": slug,
        "name": "f",
        "triggers": [{"event": "demo/go"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": f"{URL}?fnId={slug}&stepId=step"},
            }
        },
    }
    base.update(extra)
    return base


def register(*functions: dict[str, Any], app: str = "app") -> dict[str, Any]:
    return {
        "appname": app,
        "url": URL,
        "framework": "fast_api",
        "sdk": "py:v0.5.19",
        "v": "0.1",
        "deploy_type": "ping",
        "functions": list(functions),
    }


@pytest.mark.parametrize(
    ("function", "needle"),
    [
        (fn(triggers=[{"cron": "@daily"}]), "triggers[0].cron"),
        (fn(triggers=[{"cron": "* * * *"}]), "triggers[0].cron"),
        (fn(triggers=[{"event": "a", "expression": "event.data.x >"}]), "triggers[0].expression"),
        (fn(triggers=[]), "at least one event or cron trigger"),
        (fn(triggers=[{"event": "a"}, {"event": "a"}]), "duplicate triggers"),
        (fn(concurrency=[{"limit": 1}, {"limit": 2}, {"limit": 3}]), "at most 2 concurrency"),
        (
            fn(batchEvents={"maxSize": 5, "timeout": "5s"}, debounce={"period": "5s"}),
            "cannot be combined with debounce",
        ),
        (fn(debounce={"period": "500ms"}), "debounce.period"),
        (fn(cancel=[{"event": "a"}] * 6), "at most 5"),
        (fn(singleton={"mode": "maybe"}), "singleton.mode"),
        (fn(throttle={"limit": 1, "period": "forever"}), "throttle.period"),
        (fn(retries={"attempts": 3}), "retries: is not supported"),
        (fn(steps={"step": {"runtime": {"type": "grpc", "url": "x://y"}}}), "use 'http' or 'ws'"),
        (fn(steps={"step": {"runtime": {"type": "ws", "url": "http://x"}}}), "must be a ws URL"),
        (fn(steps={"step": {"runtime": {"type": ["ws"], "url": "ws://x"}}}), "use 'http' or 'ws'"),
        (fn(timeouts={"start": "soon"}), "timeouts.start"),
    ],
)
async def test_invalid_function_is_refused_naming_function_and_field(
    client: Client, function: dict[str, Any], needle: str
) -> None:
    status, body = await client.request("POST", "/fn/register", json=register(function))
    assert status == 400, body
    assert isinstance(body, dict)
    assert "function 'app-f'" in body["error"] and needle in body["error"], body["error"]
    status, syncs = await client.request("GET", "/v1/apps/syncs")
    assert isinstance(syncs, dict)
    assert syncs["data"][0]["ok"] is False and needle in syncs["data"][0]["error"]


async def test_register_basic_refusals(client: Client) -> None:
    status, body = await client.request("POST", "/fn/register", body=b"<html>")
    assert status == 400 and isinstance(body, dict) and body["error"].startswith("Invalid request")
    status, body = await client.request("POST", "/fn/register", json={"functions": []})
    assert status == 400 and isinstance(body, dict) and body["error"] == "App ID required"
    status, body = await client.request(
        "POST",
        "/fn/register",
        json=register(fn()),
        headers={"x-inngest-expected-server-kind": "cloud"},
    )
    assert (
        status == 400
        and isinstance(body, dict)
        and "Expected server kind dev, got cloud" in body["error"]
    )


async def test_failed_resync_keeps_previous_functions_and_stores_the_error(client: Client) -> None:
    status, body = await client.request("POST", "/fn/register", json=register(fn()))
    assert status == 200 and isinstance(body, dict) and body["modified"] is True
    status, _ = await client.request(
        "POST", "/fn/register", json=register(fn(triggers=[{"cron": "nope"}]))
    )
    assert status == 400
    status, apps = await client.request("GET", "/v1/apps")
    assert isinstance(apps, dict)
    (app,) = apps["data"]
    assert app["function_count"] == 1 and "triggers[0].cron" in app["error"]
    # The stored error makes the next identical good sync count as a change (it clears the error).
    status, body = await client.request("POST", "/fn/register", json=register(fn()))
    assert isinstance(body, dict) and body["modified"] is True
    status, body = await client.request("POST", "/fn/register", json=register(fn()))
    assert isinstance(body, dict) and body["modified"] is False


async def test_a_slug_owned_by_another_app_is_refused(client: Client) -> None:
    await client.request("POST", "/fn/register", json=register(fn("shared-f"), app="one"))
    status, body = await client.request(
        "POST", "/fn/register", json=register(fn("shared-f"), app="two")
    )
    assert (
        status == 400
        and isinstance(body, dict)
        and "already registered by app 'one'" in body["error"]
    )
