"""The approval flow: a Slack-posting skill waits for a person; approve → live; reject.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from ._harness import Harness, skill_source

SLACK = {"notify": {"channels": ["inbox", "slack"]}}


def poster(tag: str) -> str:
    return skill_source(
        "ap-poster",
        f"""
        ctx.step.run("post", lambda: ctx.capabilities.notify.post("slack", "{tag}"))
        return {{"code": "{tag}"}}
        """,
        capabilities=SLACK,
    )


def test_a_slack_posting_skill_waits_for_approval(harness: Harness) -> None:
    outcome = harness.submit("ap-poster", poster("v1"))
    assert (outcome["version"], outcome["state"]) == (1, "awaiting_approval")
    version = harness.version("ap-poster", 1)
    assert version["approval"]["needs_approval"] is True
    assert version["approval"]["reasons"] == ["posts to notification channels ['slack']"]
    skill = harness.skill("ap-poster")
    assert skill is not None and skill["awaiting_approval"] == [1]
    assert skill["active_version"] is None
    harness.assert_no_run(harness.send("test/ap-poster"), wait=0.5)


def test_approving_makes_it_live(harness: Harness) -> None:
    resp = harness.post("/v1/skills/ap-poster/approve", {"by": "alice"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["version"], resp.json()["state"]) == (1, "active")
    version = harness.version("ap-poster", 1)
    assert version["approved_by"] == "alice" and version["approved_at"]
    assert harness.trigger("test/ap-poster")["output"] == {"code": "v1"}


def test_a_new_version_waits_again_and_can_be_rejected(harness: Harness) -> None:
    outcome = harness.submit("ap-poster", poster("v2"))
    assert (outcome["version"], outcome["state"]) == (2, "awaiting_approval")
    assert harness.trigger("test/ap-poster")["output"] == {"code": "v1"}  # v1 keeps running

    resp = harness.post("/v1/skills/ap-poster/reject", {"version": 2, "reason": "too noisy"})
    assert resp.status_code == 200 and resp.json()["state"] == "rejected"
    assert harness.version("ap-poster", 2)["note"] == "too noisy"
    again = harness.post("/v1/skills/ap-poster/approve", {"version": 2})
    assert again.status_code == 409
    none_waiting = harness.post("/v1/skills/ap-poster/approve", {})
    assert (
        none_waiting.status_code == 409
        and "awaiting approval" in none_waiting.json()["error"]["message"]
    )
    assert harness.trigger("test/ap-poster")["output"] == {"code": "v1"}


def test_inbox_only_skills_go_live_without_a_person(harness: Harness) -> None:
    source = skill_source(
        "ap-inbox",
        """
        ctx.step.run("post", lambda: ctx.capabilities.notify.post("inbox", "hi"))
        return {"ok": True}
        """,
        capabilities={
            "notify": {"channels": ["inbox"]},
            "llm": {"per_run_usd": 0.01, "per_week_usd": 0.5},
        },
        top="",
    )
    # The LLM grant is unused: the validator warns, the policy still lets it through.
    outcome = harness.submit("ap-inbox", source)
    assert outcome["state"] == "active", outcome
