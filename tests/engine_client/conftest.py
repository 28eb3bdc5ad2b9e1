"""A signed embedded engine (signing key + event key) with a production-mode SDK app on it."""

from __future__ import annotations

from collections.abc import Iterator

import inngest
import inngest.fast_api
import pytest

from loopwright.engine_client import EngineClient, EngineTarget
from tests.conformance._engine import EngineProcess, running_engine
from tests.conformance._sdk_app import SdkServer

SIGNING_KEY = "signkey-test-" + "7a" * 32
EVENT_KEY = "ek-engine-client"
APP_ID = "ec-app"


@pytest.fixture(scope="module")
def signed_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    args = ("--signing-key", SIGNING_KEY, "--event-key", EVENT_KEY)
    with running_engine(tmp_path_factory.mktemp("engine-client"), args) as engine:
        yield engine


@pytest.fixture(scope="module")
def sdk_app(signed_engine: EngineProcess) -> Iterator[str]:
    """The app's serve URL (not yet synced: syncing it is what some tests check)."""
    client = inngest.Inngest(
        app_id=APP_ID,
        is_production=True,
        signing_key=SIGNING_KEY,
        event_key=EVENT_KEY,
        api_base_url=signed_engine.url,
        event_api_base_url=signed_engine.url,
    )

    @client.create_function(fn_id="echo", trigger=inngest.TriggerEvent(event="ec/echo"))
    def echo(ctx: inngest.ContextSync) -> dict[str, object]:
        return dict(ctx.step.run("read", lambda: dict(ctx.event.data)))

    @client.create_function(fn_id="nap", trigger=inngest.TriggerEvent(event="ec/nap"))
    def nap(ctx: inngest.ContextSync) -> str:
        ctx.step.sleep("long", 3_600_000)
        return "woke"

    server = SdkServer()
    inngest.fast_api.serve(server.fastapi, client, [echo, nap])
    with server.running():
        yield f"{server.origin}/api/inngest"


def target(engine: EngineProcess, **keys: str | None) -> EngineTarget:
    defaults: dict[str, str | None] = {"signing_key": SIGNING_KEY, "event_key": EVENT_KEY}
    return EngineTarget(api_url=engine.url, event_api_url=engine.url, **{**defaults, **keys})


@pytest.fixture(scope="module")
def synced(signed_engine: EngineProcess, sdk_app: str) -> Iterator[EngineClient]:
    with EngineClient(target(signed_engine)) as client:
        result = client.sync(sdk_app)
        assert result.ok, result.error
        yield client
