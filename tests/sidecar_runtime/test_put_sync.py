"""``--sync-mode put``: the sidecar PUTs its own serve URL, as the Inngest Dev Server and Cloud
do, and reads the registration answer the SDK passes through (refusals included)."""

from __future__ import annotations

from ._harness import Harness, skill_source

SIDECAR_SETTINGS = {"sync_mode": "put"}


def test_put_sync_registers_and_reports_refusals(harness: Harness) -> None:
    outcome = harness.submit("ps-plain", skill_source("ps-plain", 'return "put"'))
    assert outcome["state"] == "active" and outcome["sync"]["ok"] is True
    assert harness.trigger("test/ps-plain")["output"] == "put"

    refused = skill_source("ps-bad", "return 1").replace(
        'trigger=skill.event("test/ps-bad")',
        'trigger=skill.event("test/ps-bad", expression="event.data.x >")',
    )
    outcome = harness.submit("ps-bad", refused)
    assert outcome["state"] == "validated" and outcome["sync"]["ok"] is False
    assert "expression" in outcome["sync"]["error"]
    assert harness.trigger("test/ps-plain")["output"] == "put"  # the previous set still works
