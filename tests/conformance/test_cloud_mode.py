"""Cloud mode: with a signing key the engine signs its calls, requires a bearer on its API
and checks event keys; a production-mode SDK app (which verifies every call's signature)
runs on it unchanged."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import inngest
import inngest.fast_api
import pytest

from ._connect_worker import ConnectWorker
from ._engine import EngineAPI, EngineProcess, running_engine
from ._harness import new_client
from ._sdk_app import SdkServer

SIGNING_KEY = "signkey-test-" + "c0ffee" * 10 + "abcd"
EVENT_KEY = "ek-cloud-test"


@pytest.fixture(scope="module")
def cloud_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    args = ("--signing-key", SIGNING_KEY, "--event-key", EVENT_KEY)
    with running_engine(tmp_path_factory.mktemp("cloud"), args) as engine:
        yield engine


def production_client(app_id: str, engine_url: str) -> inngest.Inngest:
    return new_client(
        engine_url, app_id, is_production=True, signing_key=SIGNING_KEY, event_key=EVENT_KEY
    )


def test_api_requires_the_signing_key_as_bearer(cloud_engine: EngineProcess) -> None:
    assert httpx.get(f"{cloud_engine.url}/v1/apps").status_code == 401
    hashed = hashlib.sha256(bytes.fromhex(SIGNING_KEY.split("-", 2)[2])).hexdigest()
    for token in (SIGNING_KEY, hashed, f"signkey-test-{hashed}"):
        resp = httpx.get(
            f"{cloud_engine.url}/v1/apps", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 200, token
    assert httpx.get(f"{cloud_engine.url}/health").status_code == 200


def test_unknown_event_key_is_refused(cloud_engine: EngineProcess) -> None:
    resp = httpx.post(f"{cloud_engine.url}/e/wrong", json={"name": "a/b"})
    assert resp.status_code == 401 and resp.json()["error"] == "Event key not found"


def test_production_sdk_app_syncs_and_runs_with_signed_calls(cloud_engine: EngineProcess) -> None:
    client = production_client("cloud-app", cloud_engine.url)

    @client.create_function(fn_id="signed", trigger=inngest.TriggerEvent(event="cloud/go"))
    def signed(ctx: inngest.ContextSync) -> dict[str, int]:
        one = ctx.step.run("one", lambda: 1)
        two = ctx.step.run("two", lambda: one + 1)
        return {"sum": one + two}

    server = SdkServer()
    inngest.fast_api.serve(server.fastapi, client, [signed])
    api = EngineAPI(cloud_engine.url, headers={"Authorization": f"Bearer {SIGNING_KEY}"})
    with server.running():
        # An unsigned call is refused by the SDK itself: it really checks signatures.
        unsigned = httpx.post(
            f"{server.origin}/api/inngest?fnId=cloud-app-signed&stepId=step", json={}
        )
        assert unsigned.status_code == 401
        assert api.sync(f"{server.origin}/api/inngest")["ok"]
        (event_id,) = client.send_sync(inngest.Event(name="cloud/go"))
        deadline = time.monotonic() + 30
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            runs = api.event_runs(event_id)
            if runs and runs[0]["status"] != "Running":
                break
            time.sleep(0.05)
        assert runs and runs[0]["status"] == "Completed", runs
        assert runs[0]["output"] == {"sum": 3}
    api.close()


def test_production_connect_worker_starts_with_the_key_and_runs(
    cloud_engine: EngineProcess,
) -> None:
    refused = httpx.post(f"{cloud_engine.url}/v0/connect/start", content=b"")
    assert refused.status_code == 401  # no bearer: no gateway, no session token
    client = production_client("cloud-connect", cloud_engine.url)

    @client.create_function(fn_id="linked", trigger=inngest.TriggerEvent(event="cloud/link"))
    async def linked(ctx: inngest.Context) -> int:
        return await ctx.step.run("one", lambda: 41) + 1

    api = EngineAPI(cloud_engine.url, headers={"Authorization": f"Bearer {SIGNING_KEY}"})
    with ConnectWorker([(client, [linked])]).running():
        (event_id,) = client.send_sync(inngest.Event(name="cloud/link"))
        run = api.completed_run(event_id)
    assert run["status"] == "Completed" and run["output"] == 42, run
