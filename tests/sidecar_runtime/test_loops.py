"""Skills that start each other: a loop is refused at activation, naming it; events carry the
sender's identity set by the platform, which the receiving skill reads."""

from __future__ import annotations

from ._harness import Harness, skill_source


def emitter(skill_id: str, trigger: str, sends: str) -> str:
    return skill_source(
        skill_id,
        f"""
        ctx.step.send_event("tell", skill.Event("{sends}", {{"from": "{skill_id}"}}))
        return {{"sent": "{sends}"}}
        """,
        event=trigger,
        manifest={"emits": [sends]},
    )


def test_a_skill_closing_a_loop_with_live_skills_is_not_activated(harness: Harness) -> None:
    first = emitter("lp-ping", "lp-pong/done", "lp-ping/done")
    assert harness.submit("lp-ping", first)["state"] == "awaiting_approval"
    assert harness.post("/v1/skills/lp-ping/approve", {"by": "ada"}).json()["state"] == "active"

    second = emitter("lp-pong", "lp-ping/done", "lp-pong/done")
    assert harness.submit("lp-pong", second)["state"] == "awaiting_approval"
    refused = harness.post("/v1/skills/lp-pong/approve", {"by": "ada"})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert "[trigger-cycle]" in message and "fix:" in message
    assert "lp-pong sends 'lp-pong/done' to lp-ping" in message
    assert "lp-ping sends 'lp-ping/done' to lp-pong" in message
    # The effect: lp-pong never went live, so an lp-ping run starts nothing.
    skill = harness.skill("lp-pong")
    assert skill is not None and skill["active_version"] is None
    functions = harness.engine.get(f"/v1/apps/{harness.sidecar.settings.app_id}/functions")
    slugs = [str(f.get("slug")) for f in functions.json()]
    assert any(slug.endswith("-lp-ping") for slug in slugs), slugs
    assert not any(slug.endswith("-lp-pong") for slug in slugs), slugs


def test_a_received_event_names_its_sender_as_the_platform_saw_it(harness: Harness) -> None:
    sender = emitter("lp-sender", "test/lp-sender", "lp-sender/hello")
    assert harness.submit("lp-sender", sender)["state"] == "awaiting_approval"
    assert harness.post("/v1/skills/lp-sender/approve", {"by": "ada"}).json()["state"] == "active"
    receiver = skill_source(
        "lp-receiver",
        'return {"source": ctx.event.data.get("loopwright"), "from": ctx.event.data.get("from")}',
        event="lp-sender/hello",
        example={"from": "x"},
    )
    assert harness.submit("lp-receiver", receiver)["state"] == "active"
    sent = harness.trigger("test/lp-sender")
    assert sent["status"] == "Completed", sent["output"]
    event = harness.engine.get("/v1/events", params={"name": "lp-sender/hello"}).json()["data"][0]
    received = harness.wait_run(harness.run_of(event["internal_id"])["run_id"])
    assert received["status"] == "Completed", received["output"]
    assert received["output"] == {
        "source": {"skill": "lp-sender", "version": 1, "run_id": sent["run_id"]},
        "from": "lp-sender",
    }
