"""A step runner that replays the handler after every new step, as the engine does.

``ReplaySteps.drive(handler)`` calls ``handler(steps)`` again and again: memoized steps
return their recorded (JSON round-tripped) result, the first new step runs and interrupts
the call. It checks that every replay asks for the same steps in the same order — the turn's
determinism — and can ``forget`` a step's first result (the engine died before saving it)
to prove that re-running the step repeats no model call and no tool call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from agent.durable import StepFailed

T = TypeVar("T")


class _Interrupt(BaseException):
    """Like the SDK's ResponseInterrupt: user code cannot catch it with ``except Exception``."""


class Nondeterminism(AssertionError):
    pass


class ReplaySteps:
    def __init__(self, forget: frozenset[str] = frozenset()) -> None:
        #: Steps whose first result is lost, as when the engine dies before saving it.
        self.forget = set(forget)
        self.memo: dict[str, Any] = {}
        self.order: list[str] = []
        self.executions: dict[str, int] = {}
        self.calls = 0
        self._position = 0
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def _next(self, step_id: str) -> bool:
        """True when the step is memoized; checks the replay order."""
        if self._position < len(self.order):
            expected = self.order[self._position]
            if expected != step_id:
                raise Nondeterminism(
                    f"replay asked for step {step_id!r} where {expected!r} ran before"
                )
            self._position += 1
            return True
        return False

    def run(self, step_id: str, fn: Callable[[], T]) -> T:
        if self._next(step_id):
            value = self.memo[step_id]
            if isinstance(value, StepFailed):
                raise value
            return value  # type: ignore[no-any-return]
        self.executions[step_id] = self.executions.get(step_id, 0) + 1
        try:
            result = json.loads(json.dumps(fn()))
        except Exception as err:
            self.memo[step_id] = StepFailed(step_id, str(err))
        else:
            if step_id in self.forget:
                self.forget.discard(step_id)
                raise _Interrupt  # the result never reached the engine: the step runs again
            self.memo[step_id] = result
        self.order.append(step_id)
        raise _Interrupt

    def wait(
        self, step_id: str, event: str, if_exp: str, timeout_s: float
    ) -> dict[str, Any] | None:
        return self.run(step_id, lambda: None)

    def send(self, step_id: str, name: str, data: dict[str, Any]) -> None:
        def record() -> None:
            self.sent.append((name, data))

        self.run(step_id, record)

    def drive(self, handler: Callable[[ReplaySteps], T], max_calls: int = 5000) -> T:
        for _ in range(max_calls):
            self.calls += 1
            self._position = 0
            try:
                return handler(self)
            except _Interrupt:
                continue
        raise AssertionError(f"the handler did not finish in {max_calls} calls")
