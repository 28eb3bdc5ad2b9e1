"""A deleted skill stops taking runs but finishes the ones in flight; pause and resume.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from ._harness import Harness, poll, skill_source

NAPPER = skill_source(
    "dp-napper",
    """
    ctx.step.sleep("nap", 2000)
    return ctx.step.run("after", lambda: {"finished": True})
    """,
)


def test_a_file_deleted_while_a_run_sleeps(harness: Harness) -> None:
    harness.write("dp-napper", NAPPER)
    harness.wait_active("dp-napper", 1)
    sleeping = harness.run_of(harness.send("test/dp-napper"))
    poll(
        lambda: any(s["name"] == "nap" for s in harness.steps(sleeping["run_id"])),
        what="the run to sleep",
    )

    harness.path("dp-napper").unlink()
    skill = harness.wait_skill("dp-napper", lambda s: s["state"] == "removed", "removed")
    assert skill["active_version"] is None
    assert harness.version("dp-napper", 1)["state"] == "retired"

    harness.assert_no_run(harness.send("test/dp-napper"), wait=0.3)
    done = harness.wait_run(sleeping["run_id"])
    assert done["status"] == "Completed", done
    assert done["output"] == {"finished": True}


def test_writing_the_file_back_restores_the_known_version(harness: Harness) -> None:
    harness.write("dp-napper", NAPPER)
    skill = harness.wait_active("dp-napper", 1)
    assert skill["latest_version"] == 1
    assert any(e["action"] == "restore" for e in skill["audit"])


def test_pause_stops_new_runs_and_resume_brings_them_back(harness: Harness) -> None:
    harness.write("dp-paused", skill_source("dp-paused", 'return {"ran": True}'))
    harness.wait_active("dp-paused", 1)
    resp = harness.post("/v1/skills/dp-paused/pause", {"by": "ops"})
    assert resp.status_code == 200 and resp.json()["state"] == "paused"
    assert harness.skill("dp-paused")["state"] == "paused"  # type: ignore[index]
    harness.assert_no_run(harness.send("test/dp-paused"), wait=0.3)

    assert harness.post("/v1/skills/dp-paused/resume").json()["state"] == "resumed"
    assert harness.trigger("test/dp-paused")["output"] == {"ran": True}
