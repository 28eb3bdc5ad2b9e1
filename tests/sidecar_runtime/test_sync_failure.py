"""A sync the engine refuses changes nothing: the previous function set stays registered and
served, the registry keeps the previous active version, and the version says why.

The validator does not parse CEL expressions, the engine does: a trigger expression that does
not compile passes validation and is refused at sync, a real refusal end to end.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

from ._harness import Harness, skill_source


def expression(skill_id: str, expr: str, tag: str) -> str:
    """A skill whose trigger has a CEL ``expression``."""
    return skill_source(skill_id, f'return {{"code": "{tag}"}}').replace(
        f'trigger=skill.event("test/{skill_id}")',
        f'trigger=skill.event("test/{skill_id}", expression="{expr}")',
    )


def test_a_refused_sync_keeps_the_previous_version(harness: Harness) -> None:
    good = expression("sf-expr", "event.data.go == true", "v1")
    assert harness.submit("sf-expr", good)["state"] == "active"
    assert harness.trigger("test/sf-expr", {"go": True})["output"] == {"code": "v1"}

    outcome = harness.submit("sf-expr", expression("sf-expr", "event.data.go >", "v2"))
    assert (outcome["version"], outcome["state"]) == (2, "validated")
    assert outcome["sync"]["ok"] is False and "expression" in outcome["sync"]["error"]
    assert outcome["note"].startswith("not activated: sync failed:")

    skill = harness.skill("sf-expr")
    assert skill is not None and skill["active_version"] == 1
    assert harness.trigger("test/sf-expr", {"go": True})["output"] == {"code": "v1"}
    status = harness.api.get("/v1/status").json()
    assert status["sync"]["ok"] is False


def test_the_next_good_version_syncs_again(harness: Harness) -> None:
    outcome = harness.submit("sf-expr", expression("sf-expr", "event.data.go == true", "v3"))
    assert (outcome["version"], outcome["state"]) == (3, "active")
    assert harness.trigger("test/sf-expr", {"go": True})["output"] == {"code": "v3"}
    assert harness.api.get("/v1/status").json()["sync"]["ok"] is True
