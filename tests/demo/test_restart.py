"""A restarted demo fleet keeps its injected incidents and agrees with its deploy log."""

from __future__ import annotations

import json
from pathlib import Path

from skills_core.demo import Fleet
from skills_core.demo.incidents import IncidentKind


def status(fleet: Fleet, service: str) -> dict[str, object]:
    return next(s for s in fleet.status()["services"] if s["name"] == service)


def test_an_injected_incident_survives_a_restart_with_its_bad_release(tmp_path: Path) -> None:
    log = tmp_path / "deploys.jsonl"
    with Fleet(deploy_log=log, seed=1, control_port=None) as fleet:
        before = str(status(fleet, "checkout")["version"])
        fleet.inject(IncidentKind.ERROR_BURST_AFTER_DEPLOY, "checkout", duration_s=600)
        fleet.inject(IncidentKind.LATENCY_SPIKE, "search", duration_s=0.001)  # already over
        bad = str(status(fleet, "checkout")["version"])
        started = status(fleet, "checkout")["incidents"][0]["started_at"]  # type: ignore[index]
    assert bad != before
    with Fleet(deploy_log=log, seed=2, control_port=None) as again:
        checkout = status(again, "checkout")
        assert checkout["version"] == bad  # the release the deploy log blames
        incidents = checkout["incidents"]
        assert isinstance(incidents, list) and len(incidents) == 1
        assert incidents[0]["kind"] == "error-burst-after-deploy"
        assert incidents[0]["started_at"] == started  # it ends when it would have ended
        assert status(again, "search")["incidents"] == []

        # Cleared incidents stay cleared; the deploy log still says which release runs.
        assert again.clear() == 1
    saved = json.loads((tmp_path / "incidents.json").read_text())
    assert saved == []
    with Fleet(deploy_log=log, seed=3, control_port=None) as third:
        assert status(third, "checkout")["incidents"] == []
        assert status(third, "checkout")["version"] == bad


def test_an_unreadable_incident_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "incidents.json").write_text("{not json")
    with Fleet(deploy_log=tmp_path / "deploys.jsonl", control_port=None) as fleet:
        assert all(s["incidents"] == [] for s in fleet.status()["services"])


def test_clear_history_deletes_the_stopped_demos_metrics_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from skills_core.demo.cli import demo_app
    from tests.up.test_supervisor import free_port

    data = tmp_path / "prometheus"
    (data / "data").mkdir(parents=True)
    (data / "prometheus.yml").write_text("{}")
    runner = CliRunner()
    with Fleet(deploy_log=tmp_path / "deploys.jsonl", control_port=0) as fleet:
        assert fleet.control_url is not None
        args = [
            "clear",
            "--history",
            "--prometheus-data",
            str(data),
            "--control",
            fleet.control_url,
        ]
        refused = runner.invoke(demo_app, args)
        assert refused.exit_code == 1 and "the demo fleet is running" in refused.output
        assert data.exists()
    dead = f"http://127.0.0.1:{free_port()}"
    args = ["clear", "--history", "--prometheus-data", str(data), "--control", dead]
    done = runner.invoke(demo_app, args)
    assert done.exit_code == 0 and "deleted the demo's stored metrics" in done.output
    assert not data.exists()
    again = runner.invoke(demo_app, args)
    assert again.exit_code == 0 and "no demo metrics stored" in again.output
