"""The review's tests use the demo's simulated history (review/demo_history.py) with a fixed
start, so every figure a test asserts is repeatable (time injected, nothing slept)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from loopwright.store import Store
from review.demo_history import DAY, SERVICES, SKILL, STEP, features, seed
from review.demo_history import History as DemoHistory
from review.tuning import Classifier
from skills_core.capabilities.store import CapabilityStore

__all__ = ["DAY", "HEALTH_SOURCE", "SERVICES", "SKILL", "START", "STEP", "History", "features"]

HEALTH_SOURCE = (Path(__file__).parents[2] / "skills_core/skills/health_check.py").read_text()
START = datetime.datetime(2026, 11, 2, 6, 0, tzinfo=datetime.UTC).timestamp()  # a Monday


class History(DemoHistory):
    """The demo's history, with the capabilities file the tests open directly and labels
    given by a person (the default labeller of the CLI)."""

    def __init__(
        self, store: Store, caps: CapabilityStore, caps_path: Path, classifier: Classifier
    ) -> None:
        super().__init__(store, caps, classifier, labeller="human")
        self.caps_path = caps_path


def seed_four_weeks(h: History, weeks: int = 4) -> dict[str, Any]:
    return seed(h, START, weeks)
