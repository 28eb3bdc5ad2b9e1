"""Four weeks of a health check with a tight threshold: the review tunes it, shadows the
candidate, promotes it, and rolls it back when it misses a true incident (time injected)."""

from __future__ import annotations

from typing import Any

from review import audit, proposals
from review.runner import Review, report
from review.tuning import Classifier
from tests.review._history import DAY, HEALTH_SOURCE, SKILL, START, STEP
from tests.review._platform import RecordingPlatform

WEEK4 = START + 28 * DAY


def review_for(h: Any, platform: RecordingPlatform) -> Review:
    return Review(h.store, h.ledger, platform, shadow_runs=6)


def test_review_picks_tunes_shadows_promotes_and_rolls_back(seeded: Any) -> None:
    platform = RecordingPlatform(SKILL, HEALTH_SOURCE, "health_check.py")
    review = review_for(seeded, platform)

    first = review.run(WEEK4)
    assert [p["skill_id"] for p in first["picks"]] == [SKILL]
    assert "false-alarm rate" in first["picks"][0]["rules"][0]
    [made] = first["proposals"]
    assert made["state"] == "shadowing" and made["path"] == "tuning"
    bt = made["backtest"]
    assert bt["new_misses"] == []
    assert bt["current"]["incidents"] == 1 and len(bt["candidate"]["caught"]) == 1
    assert bt["candidate"]["false_alarms"] <= bt["current"]["false_alarms"] / 2
    assert made["changes"]["constants"] == {"ERROR_RATE_DEGRADED": 0.04}
    assert "ERROR_RATE_DEGRADED 0.02 → 0.04" in made["reason"]
    assert platform.active == 1  # nothing promoted before the shadow

    # The same review again (a crash and a resume): the stored report, no second proposal.
    again = review.run(WEEK4)
    assert again["id"] == first["id"]
    assert len(proposals.listed(seeded.store, skill_id=SKILL)) == 1

    # Six more runs of v1 (one blip) give the shadow its runs.
    at = WEEK4
    for n in range(6):
        levels = {"search": (0.03, 0.01)} if n == 2 else {}
        seeded.tick(at, levels, {"search": "false-alarm"} if n == 2 else None)
        at += STEP
    second = review.run(at)
    promoted = [a for a in second["actions"] if a["action"] == "promoted"]
    assert promoted, second["actions"]
    assert platform.active == 2
    p = proposals.get(seeded.store, made["id"])
    assert p.state == "promoted" and p.candidate_version == 2
    assert p.shadow is not None and p.shadow["runs"] >= 6 and not p.shadow["dangerous"]
    submit_reason = platform.calls[-1][1]
    assert made["id"] in submit_reason and "backtest and shadow passed" in submit_reason

    # v2 runs; a true incident at 3.5 % against 0.5 % is below its new threshold: missed.
    seeded.version, seeded.classifier = 2, Classifier(platform.versions[1][0], "health_check.py")
    for n in range(8):
        levels = {"checkout": (0.035, 0.005)} if n in (3, 4) else {}
        seeded.tick(at, levels, {"checkout": "missed"} if n == 3 else None)
        at += STEP
    third = review.run(at)
    rolled = [a for a in third["actions"] if a["action"] == "rolled-back"]
    assert rolled, third["actions"]
    assert "missed true incident" in rolled[0]["why"]
    assert platform.active == 1
    assert platform.calls[-1][0] == "rollback"
    assert proposals.get(seeded.store, made["id"]).state == "rolled-back"

    shown = report(seeded.store, third["id"])["markdown"]
    assert "rolled-back" in shown and "v2 → v1" in shown
    actions = [e["action"] for e in audit.entries(seeded.store, skill_id=SKILL)]
    assert actions == ["proposed", "promoted", "rolled-back"]
    # The first report told the story of the proposal: picked, why, backtest.
    first_md = report(seeded.store, first["id"])["markdown"]
    assert "health-check" in first_md and "backtest: false alarms" in first_md
    assert "no LLM configured" in first_md
