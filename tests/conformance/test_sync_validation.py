"""Sync validation (sections 2.1, 2.3, 2.6): a function that fails validation makes the sync fail.
Through POST /v1/apps/sync the SDK swallows the engine's 400, so the answer must carry ok=false
and an error naming the function slug and the offending field. POST /fn/register answers 400
directly, also for an empty app name and for a body that is not JSON."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import inngest
import pytest

from ._engine import EngineAPI
from ._harness import MODES, App, new_client
from ._sdk_app import SdkServer

SECOND = datetime.timedelta(seconds=1)

# case -> (create_function options besides fn_id, words the error must contain)
CASES: dict[str, tuple[Callable[[str], dict[str, Any]], list[str]]] = {
    "bad-cron": (lambda ev: {"trigger": inngest.TriggerCron(cron="0 9 * *")}, ["cron"]),
    "three-concurrency-limits": (
        lambda ev: {
            "trigger": inngest.TriggerEvent(event=ev),
            "concurrency": [inngest.Concurrency(limit=1, key=f"event.data.k{i}") for i in range(3)],
        },
        ["concurrency"],
    ),
    "batch-and-debounce": (
        lambda ev: {
            "trigger": inngest.TriggerEvent(event=ev),
            "batch_events": inngest.Batch(max_size=2, timeout=SECOND),
            "debounce": inngest.Debounce(period=SECOND),
        },
        ["batch", "debounce"],
    ),
    "bad-expression": (
        lambda ev: {"trigger": inngest.TriggerEvent(event=ev, expression="event.data.x >")},
        ["expression"],
    ),
}


def handler_for(mode: str) -> Any:
    if mode == "sync":

        def handler(ctx: inngest.ContextSync) -> None:
            return None

        return handler

    async def handler_async(ctx: inngest.Context) -> None:
        return None

    return handler_async


@pytest.fixture(scope="module", params=MODES)
def apps(request: pytest.FixtureRequest, engine_api: EngineAPI) -> Iterator[dict[str, App]]:
    """One app per invalid case (own app id, own serve path), none of them synced yet."""
    server = SdkServer()
    apps: dict[str, App] = {}
    for case, (options, _) in CASES.items():
        client = new_client(engine_api.url, f"validation-{case}-{request.param}")
        app = App(mode=request.param, client=client, engine=engine_api, server=server)
        fn = client.create_function(fn_id=case, retries=0, **options(app.event("go")))(
            handler_for(request.param)
        )
        app.serve_url = app.mount([fn], f"/api/{case}")
        apps[case] = app
    with server.running():
        yield apps


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_function_fails_the_sync(apps: dict[str, App], case: str) -> None:
    app = apps[case]
    data = app.sync()
    assert data["ok"] is False, data
    error = data["error"]
    assert isinstance(error, str), data
    assert app.slug(case) in error, f"error does not name the function: {error!r}"
    for word in CASES[case][1]:
        assert word in error.lower(), f"error does not name {word!r}: {error!r}"


def register_body(app_name: str, fn: dict[str, Any]) -> dict[str, Any]:
    return {
        "appname": app_name,
        "deploy_type": "ping",
        "framework": "fast_api",
        "sdk": "py:v0.5.19",
        "url": "http://127.0.0.1:9/api/inngest",
        "v": "0.1",
        "functions": [fn],
    }


def function_config(slug: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": slug,
        "name": slug,
        "triggers": [{"event": "validation/direct"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {
                    "type": "http",
                    "url": f"http://127.0.0.1:9/api/inngest?fnId={slug}&stepId=step",
                },
            }
        },
        **extra,
    }


def test_register_rejects_invalid_function_with_400(engine_api: EngineAPI) -> None:
    slug = "validation-direct-bad-cron"
    fn = function_config(slug, triggers=[{"cron": "@daily"}])
    resp = engine_api.register(register_body("validation-direct", fn))
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert slug in error and "cron" in error.lower(), error


def test_register_rejects_empty_app_name(engine_api: EngineAPI) -> None:
    resp = engine_api.register(register_body("", function_config("x-y")))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "App ID required"


def test_register_rejects_a_body_that_is_not_json(engine_api: EngineAPI) -> None:
    resp = engine_api.http.post(
        "/fn/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"].startswith("Invalid request")


def test_register_accepts_a_valid_function(engine_api: EngineAPI) -> None:
    resp = engine_api.register(
        register_body("validation-direct-ok", function_config("validation-direct-ok-fn"))
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is True
    assert isinstance(body["modified"], bool)
