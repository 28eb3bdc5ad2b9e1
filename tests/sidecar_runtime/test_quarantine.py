"""A broken file is quarantined with a useful report; nothing else is disturbed.

Other skills keep running, and a broken rewrite of a live skill leaves its previous version
active.
"""

from __future__ import annotations

from ._harness import Harness, skill_source

BROKEN = """MANIFEST = {"id": "qa-broken", "description": "d", "author": "agent",
            "triggers": [{"event": "test/qa-broken"}]}

import os


@skill.function(fn_id="qa-broken", trigger=skill.event("test/qa-broken"))
def handler(ctx):
    return {"cwd": os.getcwd()}
"""


def test_a_broken_file_is_quarantined_with_its_report(harness: Harness) -> None:
    harness.write("qa-steady", skill_source("qa-steady", 'return {"steady": True}'))
    harness.wait_active("qa-steady", 1)

    outcome = harness.submit("qa-broken", BROKEN)
    assert (outcome["version"], outcome["state"]) == (1, "quarantined")
    report = outcome["report"]
    assert report["ok"] is False
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["line"]) for f in errors] == [("import-not-allowed", 4)]
    assert errors[0]["fix"]

    skill = harness.skill("qa-broken")
    assert skill is not None
    assert (skill["state"], skill["active_version"]) == ("quarantined", None)
    assert harness.trigger("test/qa-steady")["output"] == {"steady": True}
    harness.assert_no_run(harness.send("test/qa-broken"), wait=0.5)


def test_a_broken_rewrite_keeps_the_previous_version_running(harness: Harness) -> None:
    harness.write("qa-steady", skill_source("qa-steady", "return {{{"))
    skill = harness.wait_skill("qa-steady", lambda s: s["latest_version"] == 2, "version 2 seen")
    harness.wait_skill("qa-steady", lambda s: s["latest_state"] == "quarantined", "quarantine")
    assert skill["active_version"] == 1
    rules = [f["rule"] for f in harness.version("qa-steady", 2)["report"]["findings"]]
    assert rules == ["syntax-error"]
    assert harness.trigger("test/qa-steady")["output"] == {"steady": True}


def test_a_skill_that_crashes_in_its_dry_run_never_registers(harness: Harness) -> None:
    source = skill_source("qa-crash", 'return {"x": ctx.event.data["missing"]}')
    outcome = harness.submit("qa-crash", source)
    assert outcome["state"] == "quarantined"
    [finding] = outcome["report"]["findings"]
    assert finding["rule"] == "dry-run-error" and "KeyError" in finding["message"]
