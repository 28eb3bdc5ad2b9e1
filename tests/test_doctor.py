"""`loopwright doctor` against real things: a scripted OpenAI-compatible server, a process
holding a port, a dead Prometheus URL, and the machine's own bubblewrap and disk."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.doctor import DoctorContext, Finding, run_checks
from loopwright.doctor_checks import CHECKS, check_llm
from skills_core.capabilities.scripted_llm import ScriptedLLM

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def squatter() -> Iterator[tuple[int, int]]:
    """Another program listening on a port: (port, pid)."""
    port = free_port()
    code = (
        f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen();"
        "print('ready', flush=True); time.sleep(300)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    try:
        yield port, proc.pid
    finally:
        proc.kill()
        proc.wait()


def doctor(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    base = {
        "LOOPWRIGHT_AGENT_BASE_URL": "",
        "LOOPWRIGHT_LLM_BASE_URL": "",
        "LOOPWRIGHT_PROMETHEUS_URL": "",
        "LOOPWRIGHT_SLACK_BOT_TOKEN": "",
        "LOOPWRIGHT_SLACK_WEBHOOK_URL": "",
    }
    ports = [str(free_port()) for _ in range(4)]
    argv = ["doctor", "--data-dir", str(tmp_path / "var"), "--skills-dir", str(tmp_path / "s")]
    argv += ["--port", ports[0], "--agent-port", ports[1], "--sidecar-port", ports[2]]
    argv += ["--console-port", ports[3], *args]
    result = runner.invoke(app, argv, env={**base, **env})
    return result.exit_code, result.output


def test_a_fresh_setup_has_warnings_but_nothing_broken(tmp_path: Path) -> None:
    code, out = doctor(tmp_path, {})
    assert code == 0, out
    assert "Nothing needed is broken" in out
    assert "Slack not configured: messages go to the inbox" in out
    assert "fix: set LOOPWRIGHT_PROMETHEUS_URL" in out
    assert "no model for the agent role" in out


def test_read_at_80_columns_each_thing_is_said_once(tmp_path: Path) -> None:
    code, out = doctor(tmp_path, {"COLUMNS": "80"})
    assert code == 0, out
    long = [line for line in out.splitlines() if len(line) > 80]
    assert all(" " not in line.strip() for line in long), out  # only a path kept whole
    # the config check and the Prometheus check both knew it was unset: one warning
    assert out.count("warn  prometheus") == 1, out
    assert "LOOPWRIGHT_SLACK_CHANNEL\n                     (or LOOPWRIGHT_SLACK_WEBHOOK_URL)" in out
    assert "console port" in out  # `up` serves the console too


def test_json_lists_every_finding(tmp_path: Path) -> None:
    code, out = doctor(tmp_path, {}, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    areas = {f["area"] for f in data["findings"]}
    assert {"config", "llm", "prometheus", "slack", "sandbox", "ports", "disk"} <= areas
    assert all(f["status"] in ("ok", "warn", "fail", "skip") for f in data["findings"])


def test_a_held_port_names_the_process_and_exits_1(
    tmp_path: Path, squatter: tuple[int, int]
) -> None:
    port, pid = squatter
    code, out = doctor(tmp_path, {}, "--port", str(port))
    assert code == 1, out
    assert f"engine: port {port} is held by pid {pid}" in out
    assert "fix: stop it, or choose another port (`loopwright up --port N`)" in out


def test_unreachable_prometheus_and_a_malformed_slack_token_are_failures(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {
        "LOOPWRIGHT_PROMETHEUS_URL": dead,
        "LOOPWRIGHT_SLACK_BOT_TOKEN": "not-a-token",
        "LOOPWRIGHT_SLACK_CHANNEL": "C123",
    }
    code, out = doctor(tmp_path, env, "--json")
    failed = {f["area"]: f for f in json.loads(out)["findings"] if f["status"] == "fail"}
    assert code == 1
    assert failed["prometheus"]["message"].startswith(f"source prometheus at {dead} is not")
    assert "does not look like a Slack token" in failed["slack"]["message"]


def test_llm_endpoints_are_probed_without_calling_a_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ScriptedLLM("never used") as llm:
        monkeypatch.setenv("LOOPWRIGHT_AGENT_BASE_URL", llm.base_url)
        monkeypatch.setenv("LOOPWRIGHT_AGENT_MODEL", "scripted")
        findings = list(check_llm(DoctorContext()))
        assert Finding("llm", "ok", f"{llm.base_url} (agent) answers") in findings
        assert llm.requests == []  # GET /models only: no completion was asked for
    monkeypatch.setenv("LOOPWRIGHT_AGENT_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    down = [f for f in check_llm(DoctorContext()) if f.status == "fail"]
    assert len(down) == 1 and "is not reachable" in down[0].message


def test_remote_endpoints_are_not_probed_while_model_requests_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from skills_core.capabilities.llm import kill_switch

    monkeypatch.setattr(kill_switch, "ALLOW_MODEL_REQUESTS", False)
    monkeypatch.setenv("LOOPWRIGHT_AGENT_BASE_URL", "https://api.example.com/v1")
    monkeypatch.setenv("LOOPWRIGHT_AGENT_MODEL", "big")
    skipped = [f for f in check_llm(DoctorContext()) if f.status == "skip"]
    assert len(skipped) == 1 and "not probed" in skipped[0].message


def test_a_check_that_crashes_is_reported_and_the_others_still_run() -> None:
    def check_broken(_: DoctorContext) -> list[Finding]:
        raise RuntimeError("boom")

    findings = run_checks(DoctorContext(), [check_broken, *CHECKS[:1]])
    assert findings[0] == Finding("broken", "fail", "the check itself failed: RuntimeError: boom")
    assert findings[1].area == "python"


def test_a_broken_config_file_is_named_and_fails_the_doctor(tmp_path: Path) -> None:
    bad = tmp_path / "loopwright.toml"
    bad.write_text("[metrics]\nprometheus_urll = 'http://x'\n")
    code, out = doctor(tmp_path, {"LOOPWRIGHT_CONFIG": str(bad)})
    assert code == 1, out
    assert "prometheus_urll" in out  # the unknown key, named
