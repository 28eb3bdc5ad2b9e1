"""Runs are pinned to the version they started on: a rewrite never changes a run in flight.

The run starts on version 1, sleeps; version 2 goes live meanwhile (same function id, new
code and config); the sleeping run wakes up and finishes on version 1's code, while a run
started after the rewrite runs version 2. The pins are in the platform store, not in the run.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from sidecar.execution import PIN_STEP
from sidecar.run_pins import Pin
from sidecar.workers.remote import hashed_step_id

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
    pins = harness.sidecar.runner.pins
    assert pins is not None
    # Asked again with another active version, the store answers each run's own pin.
    assert pins.pin(old["run_id"], "pin-napper", 99) == Pin(1, new=False)
    assert pins.pin(fresh["run_id"], "pin-napper", 99) == Pin(2, new=False)
    # The pin costs no step of the run.
    assert [s["name"] for s in harness.steps(old["run_id"])] == ["before", "nap", "after"]


def test_new_version_records_its_parent(harness: Harness) -> None:
    assert harness.version("pin-napper", 2)["parent"] == 1
    diff = harness.api.get("/v1/skills/pin-napper/diff").text
    assert '-    before = ctx.step.run("before", lambda: "v1")' in diff
    assert '+    before = ctx.step.run("before", lambda: "v2")' in diff
    assert diff.startswith("--- pin_napper.py@v1\n+++ pin_napper.py@v2\n")


def test_a_run_pinned_by_the_former_first_step_keeps_that_pin(harness: Harness) -> None:
    """Runs started before pins moved to the store carry the pin as the memo of a first step
    ``loopwright-version``; a call bringing it runs that version (1), not the active one (2).
    The call is made as the engine makes it (protocol 4.1), straight to the sidecar's SDK."""
    run_id = "01JLEGACYPIN00000000000000"
    legacy = {hashed_step_id(PIN_STEP): {"data": {"skill": "pin-napper", "version": 1}}}
    answer = harness.sdk_call("pin-napper", run_id, legacy)
    assert answer.status_code == 206, answer.text
    [op] = answer.json()
    assert (op["op"], op["displayName"], op["data"]) == ("StepRun", "before", "v1")
    # The memo is the pin: nothing was written to the store for this run.
    pins = harness.sidecar.runner.pins
    assert pins is not None and pins.pin(run_id, "pin-napper", 7) == Pin(7, new=True)
