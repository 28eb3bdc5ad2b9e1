"""The core skills load from the core directory: validated, pre-approved, live, reserved.

They go through the same validation as generated skills, are recorded as written by a
person (``human``, reason ``core skill``), skip the approval policy (health-check sends
events and incident-triage posts to Slack: both would otherwise wait), are registered with
the engine, and are never written into the watched folder. No generated skill can take their
function ids, and a file named after one in the folder does not replace it.
"""

from __future__ import annotations

import time
from typing import Any

from skills_core.classify import CORE_SKILL_IDS, CORE_SKILLS_DIR

from ._harness import Harness, poll, skill_source

SIDECAR_SETTINGS = {"core_dir": CORE_SKILLS_DIR}


def _engine_functions(harness: Harness) -> set[str]:
    app_id = harness.sidecar.settings.app_id
    resp = harness.engine.get(f"/v1/apps/{app_id}/functions")
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()
    return {str(f.get("slug") or f.get("id")) for f in data}


def test_core_skills_are_active_and_registered_with_the_engine(harness: Harness) -> None:
    for skill_id in CORE_SKILL_IDS:
        skill = harness.wait_active(skill_id, 1, timeout=60)
        assert skill["function_ids"] == [skill_id]
        version = harness.version(skill_id, 1)
        assert (version["author"], version["reason"]) == ("human", "core skill")
        assert version["report"]["ok"] is True
        assert version["approval"] == {
            "needs_approval": False,
            "reasons": ["core skill: pre-approved"],
        }
    app_id = harness.sidecar.settings.app_id
    registered = poll(
        lambda: _engine_functions(harness) >= {f"{app_id}-{s}" for s in CORE_SKILL_IDS},
        timeout=30,
        what="the core functions registered with the engine",
    )
    assert registered
    assert list(harness.skills_dir.glob("*.py")) == []


def test_no_generated_skill_can_take_a_core_function_id(harness: Harness) -> None:
    harness.wait_active("health-check", 1, timeout=60)
    thief = skill_source("core-thief").replace('fn_id="core-thief"', 'fn_id="health-check"')
    outcome = harness.submit("core-thief", thief)
    assert outcome["state"] == "quarantined"
    rules = {f["rule"] for f in outcome["report"]["findings"] if f["severity"] == "error"}
    assert rules, outcome["report"]


def test_a_file_named_after_a_core_skill_changes_nothing(harness: Harness) -> None:
    harness.wait_active("heartbeat", 1, timeout=60)
    harness.write("heartbeat", skill_source("heartbeat"))
    time.sleep(1.0)  # the watcher has seen it (it takes ~5-50 ms)
    skill = harness.wait_active("heartbeat", 1)
    assert skill["latest_version"] == 1
    assert harness.version("heartbeat", 1)["author"] == "human"
