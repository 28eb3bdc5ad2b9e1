"""`loopwright send`, `runs cancel` and `runs rerun` against a real signed engine."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.engine_client import EngineClient
from tests.conformance._engine import EngineProcess

from .conftest import EVENT_KEY, SIGNING_KEY
from .test_client import _events, first_run

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("INNGEST_EVENT_KEY", EVENT_KEY)


def test_send_starts_a_run_with_the_data(
    signed_engine: EngineProcess, synced: EngineClient, cli_env: None
) -> None:
    args = ["send", "ec/echo", "--data", '{"who": "cli"}', "--engine", signed_engine.url]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    (event_id,) = json.loads(result.stdout)["ids"]
    run = synced.wait_for_run(event_id, timeout_s=60)
    assert run is not None and run["output"] == {"who": "cli"}


@pytest.mark.parametrize(
    ("data", "complaint"),
    [("{who: cli}", "not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_send_with_bad_data_exits_2_and_sends_nothing(
    signed_engine: EngineProcess, synced: EngineClient, cli_env: None, data: str, complaint: str
) -> None:
    before = len(_events(synced))
    result = runner.invoke(app, ["send", "ec/echo", "--data", data, "--engine", signed_engine.url])
    assert result.exit_code == 2
    assert complaint in result.stderr and "Nothing was sent" in result.stderr
    assert len(_events(synced)) == before


def test_send_without_the_signing_setup_says_what_is_wrong(
    signed_engine: EngineProcess, synced: EngineClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INNGEST_EVENT_KEY", "not-the-key")
    result = runner.invoke(app, ["send", "ec/echo", "--engine", signed_engine.url])
    assert result.exit_code == 1
    assert "refused the event key" in result.stderr


def test_runs_cancel_cancels_a_sleeping_run(
    signed_engine: EngineProcess, synced: EngineClient, cli_env: None
) -> None:
    (event_id,) = synced.send("ec/nap", {})
    run_id = first_run(synced, event_id)["run_id"]
    result = runner.invoke(app, ["runs", "cancel", run_id, "--engine", signed_engine.url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"run {run_id}: Cancelled"
    assert synced.run(run_id)["status"] == "Cancelled"


def test_runs_cancel_of_an_unknown_run_exits_1(
    signed_engine: EngineProcess, synced: EngineClient, cli_env: None
) -> None:
    unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    result = runner.invoke(app, ["runs", "cancel", unknown, "--engine", signed_engine.url])
    assert result.exit_code == 1 and "not found" in result.stderr


@pytest.mark.parametrize("how", ["event", "invoke"])
def test_runs_rerun_sends_the_same_event_again(
    signed_engine: EngineProcess, synced: EngineClient, cli_env: None, how: str
) -> None:
    data = {"again": how}
    if how == "event":
        (event_id,) = synced.send("ec/echo", data)
    else:
        event_id = synced.invoke("ec-app-echo", data)
    first = synced.wait_for_run(event_id, timeout_s=60)
    assert first is not None
    args = ["runs", "rerun", first["run_id"], "--engine", signed_engine.url, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["event_id"] != event_id
    second = synced.wait_for_run(answer["event_id"], timeout_s=60)
    assert second is not None and second["run_id"] != first["run_id"]
    assert {k: v for k, v in second["output"].items() if k != "_inngest"} == data
