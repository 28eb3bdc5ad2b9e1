"""A review interrupted by a crash resumes without duplicate proposals or audit entries.

The weekly function memoizes each phase as an Inngest step; here a memo dict plays the
engine's part, and the crash comes after a phase's writes but before its result was saved
(the worst moment: the phase runs again)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review import audit, proposals
from review.runner import Review
from tests.review._history import DAY, HEALTH_SOURCE, SKILL, START
from tests.review._platform import RecordingPlatform


class Crash(BaseException):
    pass


def test_crash_after_proposing_resumes_without_duplicates(seeded: Any) -> None:
    platform = RecordingPlatform(SKILL, HEALTH_SOURCE, "health_check.py")
    review = Review(seeded.store, seeded.ledger, platform)
    memo: dict[str, Any] = {}

    def crashing(name: str, fn: Callable[[], Any]) -> Any:
        if name in memo:
            return memo[name]
        result = fn()
        if name == "propose":
            raise Crash  # the proposal is written; the step's result is lost
        memo[name] = result
        return result

    with pytest.raises(Crash):
        review.run(START + 28 * DAY, step=crashing)
    assert len(proposals.listed(seeded.store)) == 1

    def resumed(name: str, fn: Callable[[], Any]) -> Any:
        if name not in memo:
            memo[name] = fn()
        return memo[name]

    data = review.run(START + 28 * DAY, step=resumed)
    assert len(data["proposals"]) == 1
    assert len(proposals.listed(seeded.store)) == 1
    actions = [e["action"] for e in audit.entries(seeded.store)]
    assert actions.count("proposed") == 1 and actions.count("report") == 1
    assert review.run(START + 28 * DAY)["id"] == data["id"]  # finished: the stored report
