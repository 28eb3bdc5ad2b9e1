"""Fixtures: one engine for the package, one TypeScript SDK app per mode (checkpointing on,
which is the SDK's default, and off), each synced with the engine."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator

import pytest

from tests.conformance._engine import EngineAPI, EngineProcess, running_engine

from ._node_app import NodeApp
from ._scenario import TsApp


@pytest.fixture(scope="package")
def ts_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with running_engine(tmp_path_factory.mktemp("ts-engine")) as proc:
        yield proc


@pytest.fixture(scope="package", params=["checkpointing", "no-checkpointing"])
def ts_app(
    request: pytest.FixtureRequest,
    ts_engine: EngineProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TsApp]:
    checkpointing = request.param == "checkpointing"
    workdir: pathlib.Path = tmp_path_factory.mktemp("ts-app")
    app_id = f"ts{'cp' if checkpointing else 'nocp'}{uuid.uuid4().hex[:6]}"
    node = NodeApp(workdir, ts_engine.url, app_id, checkpointing)
    node.start()
    api = EngineAPI(ts_engine.url)
    try:
        result = api.sync(node.serve_url)
        assert result["ok"], f"sync of the TypeScript app failed: {result}\n{node.log_text()}"
        yield TsApp(node, api, ts_engine)
    finally:
        api.close()
        node.stop()
