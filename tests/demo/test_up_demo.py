"""`loopwright up --demo`, end to end: an injected incident reaches the inbox as a triage summary.

The same child processes `up --demo` starts (``platform_components``, minus the agent, on free
ports): the engine, the SIMULATED demo fleet with a real Prometheus scraping it, and the
sidecar loading the core skills' demo variants with the capability environment `up` sets.
After ``error-burst-after-deploy checkout`` the health check must classify checkout as
degraded or critical and open an incident, and incident-triage must post its summary (cause,
evidence, actions) in that incident's inbox thread.

Waiting for the every-minute cron would make this test slow and its timing depend on the
wall clock, so the test invokes the health check through the engine's ``POST /invoke/{slug}``
every few seconds (the cron still fires too; ``singleton: skip`` keeps runs from overlapping),
through the platform's engine client. It runs twice: open, and in signed mode (signing key and
event key in the environment every child inherits, as an operator would set them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwright import up
from loopwright.engine_client import EngineClient, EngineTarget
from loopwright.supervisor import Component, Supervisor
from loopwright.up import platform_components, platform_metrics_sources
from skills_core.capabilities.notify.inbox import InboxMessage, read_inbox
from skills_core.demo import control
from skills_core.demo.prometheus import APT_COMMAND, PrometheusMissing, find_prometheus

APP_ID = "loopwright-skills"
DEADLINE_S = 150.0
SIGNING_KEY = "signkey-test-" + "5e" * 32
EVENT_KEY = "demo-event-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Platform:
    def __init__(self, data_dir: Path) -> None:
        find_prometheus()  # this test needs the real server: fail loudly, never skip
        self.data_dir = data_dir
        self.engine_port, self.control_port = _free_port(), _free_port()
        components = platform_components(
            port=self.engine_port,
            sidecar_port=_free_port(),
            agent_port=_free_port(),
            skills_dir=data_dir / "skills",
            data_dir=data_dir,
            demo=True,
            demo_control_port=self.control_port,
            demo_base_port=0,
            prometheus_port=_free_port(),
        )
        self.supervisor = Supervisor([c for c in components if c.name not in ("agent", "console")])
        target = EngineTarget.from_env(url=f"http://127.0.0.1:{self.engine_port}")
        self.engine = EngineClient(target)

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def invoke(self, fn_id: str) -> dict[str, Any] | None:
        """Invoke ``fn_id`` and wait for its run to end; None when it ran no run in time."""
        event_id = self.engine.invoke(f"{APP_ID}-{fn_id}", {})
        return self.engine.wait_for_run(event_id, timeout_s=60)

    def inbox(self, thread_key: str) -> list[InboxMessage]:
        db = self.data_dir / "capabilities.db"
        return read_inbox(db, thread_key=thread_key) if db.exists() else []


@pytest.fixture(params=["open", "signed"])
def platform(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    if request.param == "signed":
        monkeypatch.setenv("INNGEST_SIGNING_KEY", SIGNING_KEY)
        monkeypatch.setenv("INNGEST_EVENT_KEY", EVENT_KEY)
    else:
        for name in ("INNGEST_SIGNING_KEY", "INNGEST_EVENT_KEY"):
            monkeypatch.delenv(name, raising=False)
    running = Platform(tmp_path / "var")
    try:
        running.supervisor.start()
        yield running
    finally:
        running.engine.close()
        running.supervisor.stop()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_an_injected_incident_reaches_the_inbox_as_a_triage_summary(platform: Platform) -> None:
    if platform.engine.target.signed:  # the engine really is in signed mode
        base = platform.engine.target.api_url
        assert httpx.get(f"{base}/v1/apps").status_code == 401
        assert httpx.post(f"{base}/e/wrong-key", json={"name": "x/y"}).status_code == 401
    started = time.monotonic()
    control.call(
        platform.control_url,
        "POST",
        "/inject",
        {"incident": "error-burst-after-deploy", "service": "checkout"},
    )

    incident: str | None = None
    checks: list[dict[str, Any]] = []
    while incident is None and time.monotonic() - started < DEADLINE_S:
        time.sleep(5)
        run = platform.invoke("health-check")
        if run is None or run["status"] != "Completed":
            checks.append({"run": run})
            continue
        output = run["output"]
        checks.append(output)
        checkout = (output.get("services") or {}).get("checkout") or {}
        if checkout.get("label") in ("degraded", "critical"):
            incident = output["open_incidents"].get("checkout")
    assert incident is not None, f"checkout never classified unhealthy: {checks[-3:]}"
    detected = time.monotonic() - started

    def summary() -> InboxMessage | None:
        return next((m for m in platform.inbox(incident) if "Evidence (triage" in m.text), None)

    posted = summary()
    while posted is None and time.monotonic() - started < DEADLINE_S + 30:
        time.sleep(1)
        posted = summary()
    assert posted is not None, f"no triage summary in thread {incident}: {platform.inbox(incident)}"
    thread = platform.inbox(incident)
    assert thread[0].skill_id == "incident-triage"
    assert "checkout" in thread[0].text
    assert posted.text.splitlines()[0].startswith(
        ("[critical] checkout: suspected cause", "[degraded] checkout: suspected cause")
    )
    assert "Recommended actions:" in posted.text
    print(f"detected after {detected:.0f}s, summary after {time.monotonic() - started:.0f}s")
    print(posted.text)


def _env(components: list[Component], name: str) -> dict[str, str]:
    return next(c for c in components if c.name == name).env


def test_up_demo_wires_the_core_skills_sources_to_the_fleet(tmp_path: Path) -> None:
    components = platform_components(
        port=1, sidecar_port=2, agent_port=3, skills_dir=tmp_path / "s", data_dir=tmp_path,
        demo=True, demo_control_port=4, prometheus_port=5,
    )  # fmt: skip
    assert [c.name for c in components] == ["engine", "demo-fleet", "sidecar", "agent", "console"]
    sidecar = next(c for c in components if c.name == "sidecar")
    assert "--demo" in sidecar.argv
    assert sidecar.env == {
        "LOOPWRIGHT_CAPABILITIES_DB": str(tmp_path / "capabilities.db"),
        "LOOPWRIGHT_DEPLOY_LOG": str(tmp_path / "demo" / "deploys.jsonl"),
        "LOOPWRIGHT_PROMETHEUS_URL": "http://127.0.0.1:5",
        "LOOPWRIGHT_STORE_URL": f"sqlite:///{tmp_path / 'platform.db'}",
        "LOOPWRIGHT_REVIEW": "on",
        "LOOPWRIGHT_METRICS_SOURCES": platform_metrics_sources(2, {}),
    }
    agent = next(c for c in components if c.name == "agent")
    assert agent.env["LOOPWRIGHT_STORE_URL"] == sidecar.env["LOOPWRIGHT_STORE_URL"]
    fleet = next(c for c in components if c.name == "demo-fleet")
    assert fleet.health_url == "http://127.0.0.1:4/status"
    assert "--prometheus" in fleet.argv
    assert "--wired" in fleet.argv  # its banner leaves out the exports `up` has set itself
    # Prometheus keeps its data under the data dir: the baseline survives restarts.
    data = fleet.argv[list(fleet.argv).index("--prometheus-data") + 1]
    assert data == str(tmp_path / "demo" / "prometheus")
    assert fleet.ports == (4, 5)


def test_up_demo_without_prometheus_says_how_to_install_it_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> str:
        raise PrometheusMissing(f"the prometheus binary is not installed; {APT_COMMAND}")

    monkeypatch.setattr(up, "find_prometheus", missing)
    components = platform_components(
        port=1, sidecar_port=2, agent_port=3, skills_dir=tmp_path / "s", data_dir=tmp_path,
        demo=True,
    )  # fmt: skip
    assert "apt-get install -y prometheus" in capsys.readouterr().err
    assert "LOOPWRIGHT_PROMETHEUS_URL" not in _env(components, "sidecar")
    assert "--prometheus" not in next(c for c in components if c.name == "demo-fleet").argv


def test_up_without_demo_starts_no_fleet(tmp_path: Path) -> None:
    components = platform_components(
        port=1, sidecar_port=2, agent_port=3, skills_dir=tmp_path / "s", data_dir=tmp_path
    )
    assert [c.name for c in components] == ["engine", "sidecar", "agent", "console"]
    assert "--demo" not in next(c for c in components if c.name == "sidecar").argv
