"""Bounded self-repair ("design for two"): at most two repair rounds, then stop and explain.

Each failed validation or test run is a failure; the first two are each followed by one
repair round, the third ends the turn with what is still wrong. Endless "let me try again"
loops cost money and rarely converge; a person is better placed after two misses.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Check:
    """What a tool result says about the skill: a validation or a test run, and its verdict."""

    kind: str  # "validation" | "test"
    ok: bool
    skill_id: str
    problem: str = ""


@dataclasses.dataclass
class RepairTracker:
    max_repairs: int = 2
    failures: int = 0
    last_problem: str = ""
    last_kind: str = ""
    last_skill: str = ""

    def observe(self, check: Check) -> str | None:
        """Record a check; return the explanation when no repair round is left."""
        if check.ok:
            return None
        self.failures += 1
        self.last_problem, self.last_kind, self.last_skill = (
            check.problem,
            check.kind,
            check.skill_id,
        )
        if self.failures <= self.max_repairs:
            return None
        what = "validation" if check.kind == "validation" else "its test run"
        return (
            f"I stopped after {self.max_repairs} repair rounds: skill {check.skill_id!r} "
            f"still fails {what}. What is still wrong:\n{check.problem.strip()}"
        )

    def note(self) -> str:
        """Said to the model after a failure, so it fixes everything in this round."""
        left = self.max_repairs - self.failures + 1
        if left <= 0:
            return ""
        return (
            f"Repair round {self.failures} of {self.max_repairs}: fix every finding at once; "
            "after the last round the turn stops."
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepairTracker:
        return cls(**data)
