"""Executor correctness around commits (engine/executor.py, engine/ops.py).

The engine runs in-process against a scripted SDK (real HTTP on loopback): the SDK reports a
step as `StepRun`, and the transaction that would save it is made to fail. Memory must stay as
it was, so the re-sent call carries no unsaved memo and the step is run and saved again. An
item whose handling keeps failing inside the engine is parked with its error on the run. A
`RunComplete` op after other ops in one answer (the TypeScript SDK 4.x) saves them, then ends
the run with its data.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from engine import executor as executor_module
from engine.api import build_app
from engine.config import EngineConfig
from engine.core import Engine
from engine.ops import OpsPlan
from tests.conformance._engine import free_port

APP = "commits"
SLUG = f"{APP}-f"


class ScriptedSdk:
    """Answers discovery calls: step "a" first (206 StepRun), then the output (200)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.on_step_run: Callable[[], None] = lambda: None
        self.first_answer: list[dict[str, Any]] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        headers = {"x-inngest-sdk": "py:v0.5.19"}
        if not body["steps"] and self.first_answer is not None:
            return web.json_response(self.first_answer, status=206, headers=headers)
        if not body["steps"]:
            self.on_step_run()
            op = {"op": "StepRun", "id": "a" * 40, "name": "a", "displayName": "a", "data": 1}
            return web.json_response([op], status=206, headers=headers)
        return web.json_response({"steps_seen": sorted(body["steps"])}, headers=headers)


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def setup(tmp_path: pathlib.Path) -> AsyncIterator[tuple[Engine, ScriptedSdk, str]]:
    sdk = ScriptedSdk()
    sdk_app = web.Application()
    sdk_app.router.add_post("/api/inngest", sdk.handle)
    sdk_port, engine_port = free_port(), free_port()
    sdk_runner = await _serve(sdk_app, sdk_port)
    config = EngineConfig(port=engine_port, db_path=tmp_path / "e.db", retry_backoff="1s")
    engine = Engine(config)
    engine_runner = await _serve(build_app(engine), engine_port)
    await engine.start()
    url = f"http://127.0.0.1:{sdk_port}/api/inngest"
    register = {
        "url": url,
        "appName": APP,
        "deployType": "ping",
        "framework": "test",
        "sdk": "py:v0.5.19",
        "v": "0.1",
        "functions": [
            {
                "id": SLUG,
                "name": "f",
                "triggers": [{"event": f"{APP}/go"}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {"type": "http", "url": f"{url}?fnId={SLUG}&stepId=step"},
                        "retries": {"attempts": 0},
                    }
                },
            }
        ],
    }
    status, answer = await engine.register(json.dumps(register).encode(), None)
    assert status == 200, answer
    try:
        yield engine, sdk, config.origin
    finally:
        await engine_runner.cleanup()
        await engine.stop()
        await sdk_runner.cleanup()


async def _run(origin: str, want: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{origin}/e/key", json={"name": f"{APP}/go", "data": {}})
        [event_id] = (await resp.json())["ids"]
        for _ in range(1000):
            runs = await (await http.get(f"{origin}/v1/events/{event_id}/runs")).json()
            if runs["data"]:
                run_id = runs["data"][0]["run_id"]
                run: dict[str, Any] = (await (await http.get(f"{origin}/v1/runs/{run_id}")).json())[
                    "data"
                ]
                if want(run):
                    return run
            await asyncio.sleep(0.03)
    raise AssertionError("timed out waiting for the run")


async def _steps(origin: str, run_id: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        data: list[dict[str, Any]] = (
            await (await http.get(f"{origin}/v1/runs/{run_id}/steps")).json()
        )["data"]
        return data


async def test_failed_commit_leaves_memory_as_it_was(
    setup: tuple[Engine, ScriptedSdk, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, sdk, origin = setup
    monkeypatch.setattr(executor_module, "INTERNAL_RETRY_MS", 50)
    armed = {"fail": False, "failed": 0}
    seen_in_memory: list[list[str]] = []
    real_write = engine.db.write

    def write(job: Callable[[sqlite3.Connection], Any]) -> Any:
        if armed["fail"]:
            armed["fail"], armed["failed"] = False, armed["failed"] + 1
            # What other calls of the run could see while this transaction is out.
            [live] = engine.executor.runs._runs.values()
            seen_in_memory.append(sorted(live.memos))

            def broken(conn: sqlite3.Connection) -> Any:
                raise sqlite3.OperationalError("injected commit failure")

            return real_write(broken)
        return real_write(job)

    monkeypatch.setattr(engine.db, "write", write)

    def fail_first_save() -> None:
        if len(sdk.bodies) == 1:
            armed["fail"] = True  # the transaction that saves this answer's StepRun fails

    sdk.on_step_run = fail_first_save
    run = await _run(origin, lambda r: r["status"] != "Running")
    assert armed["failed"] == 1
    assert seen_in_memory == [[]]  # the memo was not in memory before its commit
    assert run["status"] == "Completed", run
    assert run["output"] == {"steps_seen": ["a" * 40]}
    # The re-sent call carried no memo of the unsaved step: the SDK ran it again.
    assert [sorted(b["steps"]) for b in sdk.bodies] == [[], [], ["a" * 40]]
    [step] = await _steps(origin, run["run_id"])
    assert step["status"] == "Completed" and step["output"] == 1 and step["attempts"] == 1


async def test_item_failing_inside_the_engine_is_parked_with_its_error(
    setup: tuple[Engine, ScriptedSdk, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine, sdk, origin = setup
    monkeypatch.setattr(executor_module, "INTERNAL_RETRY_MS", 20)

    def broken(self: OpsPlan) -> None:
        raise RuntimeError("injected engine fault")

    monkeypatch.setattr(OpsPlan, "build", broken)
    run = await _run(origin, lambda r: "parked" in r)
    [parked] = run["parked"]
    assert run["status"] == "Running"
    assert parked["kind"] == "call" and parked["failures"] == executor_module.MAX_INTERNAL_FAILURES
    assert parked["error"] == "RuntimeError: injected engine fault"
    calls = len(sdk.bodies)
    assert calls == executor_module.MAX_INTERNAL_FAILURES
    await asyncio.sleep(0.3)
    assert len(sdk.bodies) == calls  # never retried again


async def test_run_complete_after_other_ops_saves_them_then_ends_the_run(
    setup: tuple[Engine, ScriptedSdk, str],
) -> None:
    _engine, sdk, origin = setup
    step = {"op": "StepRun", "id": "b" * 40, "name": "b", "displayName": "b", "data": 2}
    sdk.first_answer = [step, {"op": "RunComplete", "id": "c" * 40, "data": {"total": 2}}]
    run = await _run(origin, lambda r: r["status"] != "Running")
    assert run["status"] == "Completed", run
    assert run["output"] == {"total": 2}
    assert len(sdk.bodies) == 1  # no further call: the run ended with this answer
    [saved] = await _steps(origin, run["run_id"])
    assert (saved["name"], saved["output"], saved["status"]) == ("b", 2, "Completed")
