"""Rollback re-activates an earlier version (no copy), rewrites the file, keeps runs pinned.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from ._harness import Harness, poll, skill_source


def tagged(tag: str) -> str:
    return skill_source("rb-tagged", f'return {{"code": "{tag}"}}')


def test_rollback_reactivates_an_earlier_version(harness: Harness) -> None:
    for number, tag in enumerate(["v1", "v2", "v3"], start=1):
        assert harness.submit("rb-tagged", tagged(tag))["version"] == number
    assert harness.trigger("test/rb-tagged")["output"] == {"code": "v3"}

    resp = harness.post("/v1/skills/rb-tagged/rollback", {"version": 1, "by": "ops"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["version"], resp.json()["state"]) == (1, "active")

    skill = harness.wait_active("rb-tagged", 1)
    assert skill["latest_version"] == 3  # re-pointed: no new version record
    states = {v["number"]: v["state"] for v in skill["versions"]}
    assert states == {1: "active", 2: "retired", 3: "retired"}
    assert harness.path("rb-tagged").read_text() == tagged("v1")
    assert harness.trigger("test/rb-tagged")["output"] == {"code": "v1"}
    rollback = [e for e in skill["audit"] if e["action"] == "rollback" and e["version"] == 1]
    assert rollback and rollback[0]["actor"] == "ops"


def test_the_rewritten_file_does_not_create_a_version(harness: Harness) -> None:
    # The watcher sees the rollback's write; its content is version 1: nothing new happens.
    assert harness.post("/v1/rescan").status_code == 200
    skill = harness.wait_active("rb-tagged", 1)
    assert skill["latest_version"] == 3 and skill["file_version"] == 1


def test_rolling_forward_again_and_editing_after_a_rollback(harness: Harness) -> None:
    assert harness.post("/v1/skills/rb-tagged/rollback", {"version": 3}).status_code == 200
    assert harness.trigger("test/rb-tagged")["output"] == {"code": "v3"}
    outcome = harness.submit("rb-tagged", tagged("v4"))
    assert (outcome["version"], outcome["state"]) == (4, "active")
    assert harness.version("rb-tagged", 4)["parent"] == 3


def test_rollback_refuses_versions_that_never_ran(harness: Harness) -> None:
    outcome = harness.submit("rb-tagged", "def broken(:\n")
    assert outcome["state"] == "quarantined"
    resp = harness.post("/v1/skills/rb-tagged/rollback", {"version": outcome["version"]})
    assert resp.status_code == 409 and "quarantined" in resp.json()["error"]["message"]
    assert harness.post("/v1/skills/rb-tagged/rollback", {"version": 99}).status_code == 404
    assert harness.post("/v1/skills/nope/rollback", {"version": 1}).status_code == 404
    assert harness.skill("rb-tagged")["active_version"] == 4  # type: ignore[index]


def napper(tag: str) -> str:
    return skill_source(
        "rb-nap",
        f"""
        ctx.step.sleep("nap", 1500)
        return ctx.step.run("after", lambda: "{tag}")
        """,
    )


def test_a_rollback_does_not_touch_a_run_in_flight(harness: Harness) -> None:
    harness.submit("rb-nap", napper("v1"))
    assert harness.submit("rb-nap", napper("v2"))["state"] == "active"
    sleeping = harness.run_of(harness.send("test/rb-nap"))
    poll(
        lambda: any(s["name"] == "nap" for s in harness.steps(sleeping["run_id"])),
        what="the run to sleep",
    )
    assert harness.post("/v1/skills/rb-nap/rollback", {"version": 1}).status_code == 200
    fresh = harness.run_of(harness.send("test/rb-nap"))
    assert harness.wait_run(sleeping["run_id"])["output"] == "v2"
    assert harness.wait_run(fresh["run_id"])["output"] == "v1"
