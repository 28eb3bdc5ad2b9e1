"""The durable-execution seam: what the turn needs from Inngest, and an inline stand-in.

The turn (``agent.turn``) is written against ``Steps``: ``run`` a memoized step, ``wait``
for an event, ``send`` an event. ``agent.app`` adapts the SDK's ``ctx.step`` to it; the
``InlineSteps`` here runs everything at once in-process (the eval harness, unit tests), and
``agent.testing.replay.ReplaySteps`` replays the handler after every step like the engine
does, to prove the turn deterministic.

A step that still fails after its retries raises ``StepFailed`` into the turn (the SDK's
``StepError``), which ends the turn gracefully.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class StepFailed(Exception):
    """A step failed for good (its retries are spent); ``message`` is the last error."""

    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(f"step {step_id} failed: {message}")
        self.step_id = step_id
        self.message = message


class Steps(Protocol):
    def run(self, step_id: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` once, durably; on replay return its memoized (JSON) result."""
        ...

    def wait(
        self, step_id: str, event: str, if_exp: str, timeout_s: float
    ) -> dict[str, Any] | None:
        """Wait for a matching event (its data), or None on timeout."""
        ...

    def send(self, step_id: str, name: str, data: dict[str, Any]) -> None: ...


class InlineSteps:
    """No durability: each step runs now, retried in place; waits return at once."""

    def __init__(
        self,
        retries: int = 0,
        on_send: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.retries = retries
        self.on_send = on_send
        self.step_ids: list[str] = []

    def run(self, step_id: str, fn: Callable[[], T]) -> T:
        self.step_ids.append(step_id)
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as err:
                if attempt == self.retries:
                    raise StepFailed(step_id, str(err)) from err
        raise AssertionError("unreachable")

    def wait(
        self, step_id: str, event: str, if_exp: str, timeout_s: float
    ) -> dict[str, Any] | None:
        self.step_ids.append(step_id)
        return None

    def send(self, step_id: str, name: str, data: dict[str, Any]) -> None:
        self.step_ids.append(step_id)
        if self.on_send is not None:
            self.on_send(name, data)
