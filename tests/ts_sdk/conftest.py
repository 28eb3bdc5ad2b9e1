"""Fixtures: one engine for the package, one TypeScript SDK app per mode (checkpointing on,
which is the SDK's default, and off, both served over HTTP; and connected by Inngest Connect
with the SDK's defaults), each synced with the engine."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator

import pytest

from tests.conformance._engine import EngineAPI, EngineProcess, running_engine
from tests.conformance._harness import poll

from ._node_app import NodeApp
from ._scenario import TsApp


@pytest.fixture(scope="package")
def ts_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with running_engine(tmp_path_factory.mktemp("ts-engine")) as proc:
        yield proc


@pytest.fixture(scope="package", params=["checkpointing", "no-checkpointing", "connect"])
def ts_app(
    request: pytest.FixtureRequest,
    ts_engine: EngineProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TsApp]:
    connect = request.param == "connect"
    checkpointing = request.param != "no-checkpointing"
    workdir: pathlib.Path = tmp_path_factory.mktemp("ts-app")
    app_id = f"ts{request.param.replace('-', '')[:6]}{uuid.uuid4().hex[:6]}"
    node = NodeApp(workdir, ts_engine.url, app_id, checkpointing, connect)
    node.start()
    api = EngineAPI(ts_engine.url)
    try:
        if connect:  # the worker syncs over its socket
            poll(
                lambda: any(a["name"] == app_id for a in api.http.get("/v1/apps").json()["data"]),
                timeout=30,
                what=f"the Connect worker's sync\n{node.log_text()}",
            )
        else:
            result = api.sync(node.serve_url)
            assert result["ok"], f"sync of the TypeScript app failed: {result}\n{node.log_text()}"
        yield TsApp(node, api, ts_engine)
    finally:
        api.close()
        node.stop()
