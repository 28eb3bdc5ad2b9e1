"""Where skill code is running right now: inside a step callback, or in the replayed body.

Inngest replays a function's body on every request and memoizes only what happens inside
steps, so clocks, randomness and capability calls belong inside ``ctx.step.run`` callbacks.
The facade marks the callback's execution with a context variable; capabilities and the vetted
modules (``datetime.datetime.now``, ``random.*``) consult it and raise a violation outside a
step. The AST policy checks the same rule statically; this is the run-time half.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator

from .errors import NondeterministicCall, SkillViolation


@dataclasses.dataclass
class StepScope:
    """The step whose callback is executing."""

    run_id: str
    step_id: str
    #: Calls made so far per capability method inside this step (for idempotency keys).
    call_counts: dict[str, int] = dataclasses.field(default_factory=dict)

    def next_call_key(self, what: str) -> str:
        n = self.call_counts.get(what, 0)
        self.call_counts[what] = n + 1
        return f"{self.run_id}:{self.step_id}:{what}:{n}"


_CURRENT: contextvars.ContextVar[StepScope | None] = contextvars.ContextVar(
    "loopwright_step_scope", default=None
)


def current_step() -> StepScope | None:
    return _CURRENT.get()


@contextlib.contextmanager
def inside_step(run_id: str, step_id: str) -> Iterator[StepScope]:
    scope = StepScope(run_id=run_id, step_id=step_id)
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def require_step(what: str, violation: type[SkillViolation] = NondeterministicCall) -> StepScope:
    """Return the current step, or raise ``violation`` when called from the replayed body."""
    scope = _CURRENT.get()
    if scope is None:
        raise violation(
            f"{what} was called outside a step; move it into the function passed to "
            "ctx.step.run so replays stay deterministic"
        )
    return scope
