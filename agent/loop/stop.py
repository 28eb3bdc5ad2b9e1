"""Why a turn ended. Every ending is a value with a message for the person, never a crash."""

from __future__ import annotations

import dataclasses
from typing import Literal

StopReason = Literal[
    "answered",
    "budget-exhausted",
    "loop-detected",
    "repair-exhausted",
    "iteration-cap",
    "llm-failed",
    "llm-not-configured",
]


@dataclasses.dataclass(frozen=True)
class Stop:
    reason: StopReason
    message: str


def iteration_cap(max_iterations: int) -> Stop:
    """The last guard: every other limit should have ended the turn before this one."""
    return Stop(
        "iteration-cap",
        f"I stopped after {max_iterations} model steps in one turn (the iteration cap). "
        "Tell me how to continue, or narrow the request.",
    )
