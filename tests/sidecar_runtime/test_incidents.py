"""The incidents capability end to end: skill code in a worker → the pipe → the sidecar's
gateway → the platform's incident store; approval is required, and the answers move the
incident through its lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.store import open_store
from sidecar.capabilities import Inbox
from sidecar.capabilities.platform import PlatformCapabilityProvider
from sidecar.server import running
from skills_core.capabilities.incidents import IncidentStore, Policy
from skills_core.capabilities.services import CapabilityServices
from skills_core.capabilities.settings import CapabilitySettings

from ._harness import Harness, skill_source
from .conftest import settings_for

T0 = 1_764_547_200.0
BODY = """
data = ctx.event.data
def track():
    return ctx.capabilities.incidents.observe(
        data["service"], label=data["label"], signals=data["signals"], reason="test",
        onset=data["at"], checked_at=data["at"])
return ctx.step.run("track", track)
"""


@pytest.fixture(scope="module")
def harness(engine_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    work: Path = tmp_path_factory.mktemp("incidents")
    settings = settings_for(work, engine_url, "lw-incidents")
    services = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": str(work / "c.db")})
    incidents = IncidentStore(open_store(settings.store), Policy(resolve_after=2))
    provider = PlatformCapabilityProvider(CapabilityServices.build(services), incidents)
    with running(settings, provider=provider) as sidecar:
        harness = Harness(sidecar, engine_url, Inbox(settings.inbox))
        try:
            yield harness
        finally:
            harness.close()


def check(harness: Harness, label: str, at: float, *signals: str) -> dict[str, object]:
    data = {"service": "checkout", "label": label, "signals": list(signals), "at": at}
    run = harness.trigger("test/in-tracker", data)
    assert run["status"] == "Completed", run
    output: dict[str, object] = run["output"]
    return output


def test_a_skill_moves_an_incident_through_its_lifecycle(harness: Harness) -> None:
    source = skill_source(
        "in-tracker",
        BODY,
        capabilities={"incidents": {"services": ["checkout"]}},
        example={"service": "checkout", "label": "normal", "signals": [], "at": T0},
    )
    submitted = harness.submit("in-tracker", source)
    assert submitted["state"] == "awaiting_approval"  # tracking incidents needs a person
    assert harness.post("/v1/skills/in-tracker/approve", {"version": 1, "by": "ana"}).is_success
    harness.wait_active("in-tracker", 1)
    assert check(harness, "critical", T0, "error_rate")["action"] == "opened"
    assert check(harness, "critical", T0 + 300, "error_rate")["action"] == "ongoing"
    updated = check(harness, "critical", T0 + 600, "error_rate", "p95")
    assert (updated["action"], updated["retriage"], updated["new_signals"]) == (
        "updated",
        True,
        ["p95"],
    )
    assert check(harness, "normal", T0 + 900)["action"] == "recovering"
    resolved = check(harness, "normal", T0 + 1200)
    assert resolved["action"] == "resolved"
    assert resolved["incident"] == {
        "id": "checkout-20251201T0000Z",
        "state": "resolved",
        "severity": "critical",
        "signals": ["error_rate", "p95"],
        "onset": T0,
        "revision": 2,
        "reopened": 0,
        "open_minutes": 20.0,
    }
    denied = harness.trigger(
        "test/in-tracker", {"service": "payments", "label": "critical", "signals": [], "at": T0}
    )
    assert denied["status"] == "Failed"  # a service outside the grant is a violation
