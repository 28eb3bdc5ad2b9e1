"""`loopwright demo run | inject | status | clear` and the control endpoint behind them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from skills_core.demo import Fleet
from skills_core.demo.cli import demo_app
from skills_core.demo.prometheus import free_port

runner = CliRunner()


def control(fleet: Fleet) -> list[str]:
    assert fleet.control_url is not None
    return ["--control", fleet.control_url]


def test_inject_status_clear(fleet: Fleet) -> None:
    injected = runner.invoke(demo_app, ["inject", "latency-spike", "checkout", *control(fleet)])
    assert injected.exit_code == 0, injected.output
    assert "injected latency-spike into checkout" in injected.output
    shown = runner.invoke(demo_app, ["status", *control(fleet)])
    assert "SIMULATED" in shown.output and "latency-spike" in shown.output
    as_json = json.loads(runner.invoke(demo_app, ["status", "--json", *control(fleet)]).output)
    assert as_json["services"][0]["incidents"][0]["kind"] == "latency-spike"
    cleared = runner.invoke(demo_app, ["clear", *control(fleet)])
    assert "cleared 1 incident" in cleared.output


def test_control_url_from_the_environment(fleet: Fleet) -> None:
    env = {"LOOPWRIGHT_DEMO_CONTROL_URL": fleet.control_url or ""}
    result = runner.invoke(
        demo_app, ["inject", "memory-leak", "search", "--duration", "5"], env=env
    )
    assert result.exit_code == 0 and "for 5s" in result.output


def test_mistakes_are_explained(fleet: Fleet) -> None:
    unknown = runner.invoke(demo_app, ["inject", "latency-spike", "billing", *control(fleet)])
    assert unknown.exit_code == 1 and "no service 'billing'" in unknown.output
    bad_kind = runner.invoke(demo_app, ["inject", "meteor", "checkout", *control(fleet)])
    assert bad_kind.exit_code == 2
    nobody = f"http://127.0.0.1:{free_port()}"
    down = runner.invoke(demo_app, ["status", "--control", nobody])
    assert down.exit_code == 1 and "loopwright demo run" in down.output


def test_control_endpoint_speaks_json(fleet: Fleet) -> None:
    url = fleet.control_url
    answer = httpx.post(f"{url}/inject", json={"incident": "nope", "service": "checkout"})
    assert answer.status_code == 400 and "incident must be one of" in answer.json()["error"]
    assert httpx.get(f"{url}/elsewhere").status_code == 404
    ok = httpx.post(f"{url}/inject", json={"incident": "memory-leak", "service": "search"})
    assert ok.json()["injected"]["kind"] == "memory-leak"


def test_run_prints_where_everything_is(tmp_path: Path) -> None:
    log = tmp_path / "deploys.jsonl"
    args = ["run", "--control-port", "0", "--base-port", "0", "--overnight", "off"]
    result = runner.invoke(demo_app, [*args, "--deploy-log", str(log), "--seconds", "0.2"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED demo fleet" in result.output
    assert "LOOPWRIGHT_METRICS_SOURCES" in result.output and str(log) in result.output
    assert "demo fleet stopped" in result.output and log.exists()
    # under `up` (which wires the platform itself) no export hints: they would mislead
    wired = runner.invoke(
        demo_app, [*args, "--deploy-log", str(log), "--seconds", "0.2", "--wired"]
    )
    assert wired.exit_code == 0, wired.output
    assert "SIMULATED demo fleet" in wired.output and "export" not in wired.output
