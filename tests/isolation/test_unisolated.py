"""Where workers cannot be isolated, the sidecar says so, and the setting decides what runs.

Isolation is switched off through the settings (the same path a host without bubblewrap or
user namespaces takes: a ``PlainLauncher`` with the reason). ``refuse`` refuses agent-written
skills at validation and at run time; ``allow`` (development) runs them, loudly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sidecar.cli import skills_app
from sidecar.isolation.config import IsolationSettings
from sidecar.isolation.launcher import launcher
from tests.sidecar_runtime._engine import running_engine
from tests.sidecar_runtime._harness import Harness, skill_source
from tests.sidecar_runtime.conftest import running_harness, settings_for


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_engine(tmp_path_factory.mktemp("engine")) as url:
        yield url


def harness_for(work: Path, engine_url: str, policy: str) -> Iterator[Harness]:
    isolation = IsolationSettings(enabled=False, unisolated=policy)  # type: ignore[arg-type]
    settings = settings_for(work, engine_url, f"lw-unisolated-{policy}", isolation=isolation)
    with running_harness(settings, engine_url) as harness:
        yield harness


@pytest.fixture(scope="module")
def refusing(engine_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from harness_for(tmp_path_factory.mktemp("refuse"), engine_url, "refuse")


@pytest.fixture(scope="module")
def allowing(engine_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    yield from harness_for(tmp_path_factory.mktemp("allow"), engine_url, "allow")


def test_an_unisolated_launcher_says_why_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="loopwright.sidecar.isolation"):
        spawner = launcher(IsolationSettings(enabled=False, tmp_bytes=128 * 1024))
    assert not spawner.status.isolated
    assert "NOT isolated" in spawner.status.detail and "disabled" in spawner.status.detail
    assert any("NOT isolated" in r.getMessage() for r in caplog.records)


def test_refuse_mode_refuses_agent_skills_and_says_so(refusing: Harness) -> None:
    listing = refusing.api.get("/v1/skills").json()
    assert listing["isolation"]["isolated"] is False
    assert listing["isolation"]["agent_skills"] == "refused"
    body = refusing.submit("unboxed-refused", skill_source("unboxed-refused"))
    assert "sandbox-isolation-unavailable" in str(body)
    skill = refusing.skill("unboxed-refused")
    assert skill is not None and skill["active_version"] is None

    shown = CliRunner().invoke(skills_app, ["list", "--url", refusing.sidecar.settings.origin])
    assert shown.exit_code == 0
    assert "workers are NOT isolated" in shown.output and "refused" in shown.output


def test_allow_mode_runs_agent_skills_unisolated_and_says_so(allowing: Harness) -> None:
    status = allowing.api.get("/v1/status").json()["isolation"]
    assert status["isolated"] is False and "UNISOLATED" in status["agent_skills"]
    allowing.submit("unboxed-allowed", skill_source("unboxed-allowed"))
    allowing.wait_active("unboxed-allowed", 1)
    run = allowing.trigger("test/unboxed-allowed")
    assert run["status"] == "Completed", run
