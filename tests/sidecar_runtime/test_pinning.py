"""Runs are pinned to the version they started on: a rewrite never changes a run in flight.

The run starts on version 1, sleeps; version 2 goes live meanwhile (same function id, new
code and config); the sleeping run wakes up and finishes on version 1's code, while a run
started after the rewrite runs version 2.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from ._harness import Harness, poll, skill_source


def napper(tag: str, nap_ms: int) -> str:
    return skill_source(
        "pin-napper",
        f"""
        before = ctx.step.run("before", lambda: "{tag}")
        ctx.step.sleep("nap", {nap_ms})
        after = ctx.step.run("after", lambda: "{tag}")
        return {{"before": before, "after": after, "code": "{tag}"}}
        """,
    )


def test_a_run_in_flight_finishes_on_the_version_it_started_on(harness: Harness) -> None:
    harness.write("pin-napper", napper("v1", 2500))
    harness.wait_active("pin-napper", 1)
    sleeping = harness.run_of(harness.send("test/pin-napper"))
    poll(
        lambda: any(s["name"] == "nap" for s in harness.steps(sleeping["run_id"])),
        what="the first run to sleep",
    )

    outcome = harness.submit("pin-napper", napper("v2", 10))
    assert (outcome["version"], outcome["state"]) == (2, "active")
    assert harness.version("pin-napper", 1)["state"] == "retired"

    fresh = harness.trigger("test/pin-napper")
    assert fresh["output"] == {"before": "v2", "after": "v2", "code": "v2"}

    old = harness.wait_run(sleeping["run_id"])
    assert old["status"] == "Completed", old
    assert old["output"] == {"before": "v1", "after": "v1", "code": "v1"}
    pins = [s["output"] for s in harness.steps(old["run_id"]) if s["name"] == "loopwright-version"]
    assert pins == [{"skill": "pin-napper", "version": 1}]
    fresh_pins = [
        s["output"] for s in harness.steps(fresh["run_id"]) if s["name"] == "loopwright-version"
    ]
    assert fresh_pins == [{"skill": "pin-napper", "version": 2}]


def test_new_version_records_its_parent(harness: Harness) -> None:
    assert harness.version("pin-napper", 2)["parent"] == 1
    diff = harness.api.get("/v1/skills/pin-napper/diff").text
    assert '-    before = ctx.step.run("before", lambda: "v1")' in diff
    assert '+    before = ctx.step.run("before", lambda: "v2")' in diff
    assert diff.startswith("--- pin_napper.py@v1\n+++ pin_napper.py@v2\n")
