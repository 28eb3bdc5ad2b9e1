"""Run-time limits and malformed SDK answers fail the run with a named error, never the engine.

The SDK side here is a protocol double (a tiny aiohttp app answering like the SDK does),
because the real SDK cannot be made to emit unknown ops, and 1,000 real steps would
spend minutes in the SDK's own replay.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from .conftest import Client

Answer = Callable[[dict[str, Any]], tuple[int, Any]]
SDK_HEADERS = {"x-inngest-sdk": "inngest-py:v0.5.19", "content-type": "application/json"}


def step_run(n: int, data: Any) -> dict[str, Any]:
    sid = hashlib.sha1(f"s{n}".encode()).hexdigest()
    return {"id": sid, "op": "StepRun", "displayName": f"s{n}", "name": f"s{n}", "data": data}


@pytest.fixture
async def fake_sdk() -> AsyncIterator[tuple[str, dict[str, Answer]]]:
    answers: dict[str, Answer] = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        status, payload = answers[request.query["fnId"]](body)
        import json

        return web.Response(status=status, text=json.dumps(payload), headers=SDK_HEADERS)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/api/inngest", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/api/inngest")), answers
    await server.close()


async def run_one(client: Client, url: str, slug: str) -> dict[str, Any]:
    fn = {
        "id": slug,
        "name": slug,
        "triggers": [{"event": f"test/{slug}"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "retries": {"attempts": 0},
                "runtime": {"type": "http", "url": f"{url}?fnId={slug}&stepId=step"},
            }
        },
    }
    status, body = await client.request(
        "POST", "/fn/register", json={"appname": f"app-{slug}", "url": url, "functions": [fn]}
    )
    assert status == 200, body
    status, sent = await client.request("POST", "/e/k", json={"name": f"test/{slug}"})
    assert status == 200 and isinstance(sent, dict)
    for _ in range(600):
        _, runs = await client.request("GET", f"/v1/events/{sent['ids'][0]}/runs")
        assert isinstance(runs, dict)
        if runs["data"] and runs["data"][0]["status"] != "Running":
            return dict(runs["data"][0])
        await asyncio.sleep(0.05)
    raise AssertionError("run did not finish")


async def test_more_than_1000_steps_fails_the_run(client: Client, fake_sdk: Any) -> None:
    url, answers = fake_sdk
    answers["many"] = lambda body: (206, [step_run(len(body["steps"]), 1)])
    run = await run_one(client, url, "many")
    assert run["status"] == "Failed"
    assert run["output"]["name"] == "InngestErrFunctionOverflowed"


async def test_step_output_over_4_mib_fails_the_run(client: Client, fake_sdk: Any) -> None:
    url, answers = fake_sdk
    answers["big"] = lambda body: (206, [step_run(0, "x" * (4 * 1024 * 1024 + 1))])
    run = await run_one(client, url, "big")
    assert run["status"] == "Failed"
    assert (
        run["output"]["name"] == "InngestErrStateOverflowed" and "4 MiB" in run["output"]["message"]
    )


async def test_run_state_over_32_mib_fails_the_run(client: Client, fake_sdk: Any) -> None:
    url, answers = fake_sdk
    # Past 4 MiB the engine switches to use_api and sends no memos; the stack still counts.
    # (Before that the engine leaves the stack out for a Python SDK, which ignores it.)
    answers["fat"] = lambda body: (
        206,
        [
            step_run(
                len(body["ctx"]["stack"].get("stack") or body["steps"]), "y" * (3 * 1024 * 1024)
            )
        ],
    )
    run = await run_one(client, url, "fat")
    assert run["status"] == "Failed"
    assert (
        run["output"]["name"] == "InngestErrStateOverflowed"
        and "32 MiB" in run["output"]["message"]
    )


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ((206, [{"id": "abc", "op": "Teleport"}]), "UnsupportedOp"),
        ((206, [{"op": "StepRun"}]), "InvalidOp"),
        ((206, [{"id": "abc", "op": "Sleep", "name": "someday"}]), "InvalidSleep"),
        (
            (206, [{"id": "abc", "op": "Sleep", "name": "2100-01-01T00:00:00Z"}]),
            "InngestErrTimeoutTooLong",
        ),
        (
            (
                206,
                [
                    {
                        "id": "w",
                        "op": "WaitForEvent",
                        "name": "x",
                        "opts": {"if": "event.", "timeout": "1s"},
                    }
                ],
            ),
            "InvalidExpression",
        ),
    ],
)
async def test_malformed_ops_fail_the_run_with_a_named_error(
    client: Client, fake_sdk: Any, answer: tuple[int, Any], name: str
) -> None:
    url, answers = fake_sdk
    slug = name.lower()
    answers[slug] = lambda body: answer
    run = await run_one(client, url, slug)
    assert run["status"] == "Failed"
    assert run["output"]["name"] == name


async def test_an_answer_that_cannot_make_progress_fails_the_run(
    client: Client, fake_sdk: Any
) -> None:
    url, answers = fake_sdk
    answers["stuck"] = lambda body: (206, [step_run(0, 1)])  # reports the same done step forever
    run = await run_one(client, url, "stuck")
    assert run["status"] == "Failed"
    assert run["output"]["name"] == "NoProgress"


async def test_answer_without_sdk_header_is_a_transport_error(
    client: Client, fake_sdk: Any
) -> None:
    url, _ = fake_sdk
    run = await run_one(client, url.replace("/api/inngest", "/nowhere"), "lost")
    assert run["status"] == "Failed"
    assert (
        "not an Inngest SDK" in run["output"]["message"]
        or "invalid status code" in run["output"]["message"]
    )
