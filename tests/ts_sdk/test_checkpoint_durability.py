"""Checkpointed steps are durable (protocol 4.17): once the engine acknowledged a checkpoint,
a crash (kill -9) and restart of the engine never runs that step again. A checkpoint from a call
the engine no longer waits for is refused with 409 (stale dispatch)."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conformance._engine import EngineAPI, EngineProcess
from tests.conformance._harness import poll

from ._node_app import NodeApp
from ._scenario import TsApp


@pytest.fixture
def own(tmp_path: pathlib.Path) -> Iterator[TsApp]:
    engine = EngineProcess(tmp_path)
    engine.start()
    node = NodeApp(tmp_path, engine.url, f"dur{uuid.uuid4().hex[:6]}", checkpointing=True)
    node.start()
    api = EngineAPI(engine.url)
    try:
        assert api.sync(node.serve_url)["ok"]
        yield TsApp(node, api, engine)
    finally:
        api.close()
        node.stop()
        engine.stop()


def test_checkpointed_step_never_reruns_after_engine_crash(own: TsApp) -> None:
    marker = uuid.uuid4().hex
    run_id = own.run_of(own.send("durable", {"marker": marker}))["run_id"]
    # Step "b" started, so step "a" was checkpointed and acknowledged before it.
    poll(lambda: marker in own.node.journal("durable-b"), what="step b to start")
    [a] = [s for s in own.api.steps(run_id) if s["name"] == "a"]
    assert a["status"] == "Completed" and a["output"] == "a done"

    assert own.engine._proc is not None
    own.engine._proc.kill()  # SIGKILL: no shutdown path runs
    own.engine._proc.wait(timeout=10)
    own.engine.start()  # same port, same database
    poll(lambda: own.node.journal("durable-b").count(marker) >= 2, what="the re-sent call")
    httpx.get(f"{own.node.url}/gate/{marker}", timeout=10)

    run = own.wait_done(run_id)
    assert run["status"] == "Completed", own.describe(run_id)
    assert run["output"] == ["a done", "b done"]
    assert own.node.journal("durable-a").count(marker) == 1


def test_checkpoint_from_a_call_not_in_flight_is_stale(own: TsApp) -> None:
    run = own.trigger("steps", {"x": 1, "marker": uuid.uuid4().hex})
    step = {"op": "StepRun", "id": "f" * 40, "data": 1, "name": "late", "displayName": "late"}
    body = {"run_id": run["run_id"], "qi_id": "1.deadbeef", "steps": [step]}
    resp = httpx.post(f"{own.engine.url}/v1/checkpoint/{run['run_id']}/async", json=body)
    assert resp.status_code == 409, resp.text
    assert "stale dispatch" in resp.json()["error"]
    assert [s["name"] for s in own.api.steps(run["run_id"])] == ["a", "b", "c"]

    missing = httpx.post(
        f"{own.engine.url}/v1/checkpoint/{run['run_id']}/async", json={"steps": []}
    )
    assert missing.status_code == 400 and "qi_id" in missing.json()["error"]
    sync = httpx.post(f"{own.engine.url}/v1/checkpoint", json={"steps": []})
    assert sync.status_code == 501 and "durable endpoints" in sync.json()["error"]
