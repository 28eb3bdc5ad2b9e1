"""`loopwright runs` and `runs show` read a real engine's history and show steps and retries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import inngest
import inngest.fast_api
import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from tests.conformance._engine import EngineAPI, EngineProcess, running_engine
from tests.conformance._sdk_app import SdkServer

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running_engine(tmp_path_factory.mktemp("views")) as engine:
        yield from _one_run(engine)


def _one_run(engine: EngineProcess) -> Iterator[tuple[str, str]]:
    client = inngest.Inngest(
        app_id="views", is_production=False, api_base_url=engine.url, event_api_base_url=engine.url
    )
    tries: list[int] = []

    @client.create_function(
        fn_id="watch", trigger=inngest.TriggerEvent(event="views/go"), retries=2
    )
    def watch(ctx: inngest.ContextSync) -> dict[str, int]:
        def flaky() -> int:
            tries.append(1)
            if len(tries) == 1:
                raise ValueError("first try fails")
            return 42

        value = ctx.step.run("fetch", flaky)
        ctx.step.run("post", lambda: "posted")
        return {"value": value}

    server = SdkServer()
    inngest.fast_api.serve(server.fastapi, client, [watch])
    api = EngineAPI(engine.url)
    with server.running():
        assert api.sync(f"{server.origin}/api/inngest")["ok"]
        (event_id,) = client.send_sync(inngest.Event(name="views/go"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = api.event_runs(event_id)
            if runs and runs[0]["status"] == "Completed":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the run did not complete")
        yield engine.url, runs[0]["run_id"]
    api.close()


def test_runs_lists_the_run_with_steps_and_retries(finished_run: tuple[str, str]) -> None:
    url, run_id = finished_run
    result = runner.invoke(app, ["runs", "--engine", url, "--json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["run_id"] == run_id and row["status"] == "Completed"
    assert [(s["name"], s["attempts"]) for s in row["steps"]] == [("fetch", 2), ("post", 1)]


def test_skill_filter_resolves_the_local_function_id(finished_run: tuple[str, str]) -> None:
    url, run_id = finished_run
    result = runner.invoke(app, ["runs", "--engine", url, "--skill", "watch", "--json"])
    assert result.exit_code == 0 and run_id in result.output
    result = runner.invoke(app, ["runs", "--engine", url, "--skill", "nobody", "--json"])
    assert result.exit_code == 0 and result.output == ""


def test_runs_show_prints_the_step_timeline(finished_run: tuple[str, str]) -> None:
    url, run_id = finished_run
    result = runner.invoke(app, ["runs", "show", run_id, "--engine", url], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "views-watch" in result.output and "Completed" in result.output
    assert result.output.index("fetch") < result.output.index("post")
    assert '"value": 42' in result.output


def test_unreachable_engine_exits_1_with_a_hint() -> None:
    result = runner.invoke(app, ["runs", "--engine", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "loopwright up" in result.output


def test_unknown_run_exits_1(finished_run: tuple[str, str]) -> None:
    url, _ = finished_run
    result = runner.invoke(app, ["runs", "show", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--engine", url])
    assert result.exit_code == 1 and "not found" in result.output
