"""An in-process stand-in for the SDK's ``ContextSync``, to drive a ``Session`` without an engine.

It follows the SDK's contract where the session depends on it: a memoized step returns its
memo; a step to execute calls the callback and then interrupts the request with a
``BaseException``; a failed step's memo raises ``inngest.StepError``. ``drive`` plays the
engine: it calls the handler again with one more memo until the handler returns.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable
from typing import Any

import inngest


class Interrupt(BaseException):
    """What the SDK raises after planning or executing a step."""

    def __init__(self, step_id: str, op: str, output: Any = None, error: Any = None) -> None:
        super().__init__(step_id)
        self.step_id, self.op, self.output, self.error = step_id, op, output, error


class FakeStep:
    def __init__(self, memos: dict[str, Any], failed: dict[str, tuple[str, str]]) -> None:
        self.memos = memos
        self.failed = failed
        self._counts: dict[str, int] = {}

    def _id(self, step_id: str) -> str:
        n = self._counts.get(step_id, 0)
        self._counts[step_id] = n + 1
        return step_id if n == 0 else f"{step_id}:{n}"

    def run(self, step_id: str, fn: Callable[[], Any]) -> Any:
        uid = self._id(step_id)
        if uid in self.failed:
            name, message = self.failed[uid]
            raise inngest.StepError(message, name, None)
        if uid in self.memos:
            return self.memos[uid]
        try:
            output = fn()
        except (inngest.NonRetriableError, inngest.RetryAfterError):
            raise
        except Exception as err:
            raise Interrupt(uid, "run", error=err) from None
        raise Interrupt(uid, "run", output=output)

    def _planned(self, step_id: str, op: str, detail: Any = None) -> Any:
        uid = self._id(step_id)
        if uid in self.memos:
            return self.memos[uid]
        raise Interrupt(uid, op, output=detail)

    def sleep(self, step_id: str, duration: datetime.timedelta) -> None:
        self._planned(step_id, "sleep", duration)

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._planned(step_id, "sleep", until)

    def wait_for_event(
        self, step_id: str, *, event: str, if_exp: str | None, timeout: datetime.timedelta
    ) -> inngest.Event | None:
        found = self._planned(step_id, "wait", event)
        return None if found is None else inngest.Event.model_validate(found)

    def send_event(self, step_id: str, events: list[inngest.Event]) -> list[str]:
        ids: list[str] = self._planned(step_id, "send", [e.name for e in events])
        return ids

    def invoke_by_id(self, step_id: str, **kwargs: Any) -> Any:
        return self._planned(step_id, "invoke", kwargs)


@dataclasses.dataclass
class FakeContext:
    step: FakeStep
    event: inngest.Event
    events: list[inngest.Event]
    run_id: str = "01FAKERUN"
    attempt: int = 0
    logger: logging.Logger = dataclasses.field(default_factory=lambda: logging.getLogger("fake"))


def context(
    memos: dict[str, Any],
    data: dict[str, Any] | None = None,
    failed: dict[str, tuple[str, str]] | None = None,
) -> Any:
    event = inngest.Event(name="test/fake", data=data or {}, id="evt-1", ts=1)
    return FakeContext(step=FakeStep(memos, failed or {}), event=event, events=[event])


def drive(
    call: Callable[[Any], Any], data: dict[str, Any] | None = None, limit: int = 50
) -> tuple[Any, dict[str, Any], list[Interrupt]]:
    """Call the handler as the engine would until it returns; (result, memos, interrupts)."""
    memos: dict[str, Any] = {}
    interrupts: list[Interrupt] = []
    for _ in range(limit):
        try:
            return call(context(memos, data)), memos, interrupts
        except Interrupt as interrupt:
            interrupts.append(interrupt)
            if interrupt.error is not None:
                failure = f"step {interrupt.step_id} failed: {interrupt.error!r}"
                raise AssertionError(failure) from None
            memos[interrupt.step_id] = _memo(interrupt)
    raise AssertionError("the handler never finished")


def _memo(interrupt: Interrupt) -> Any:
    if interrupt.op == "send":
        return [f"id-{i}" for i, _ in enumerate(interrupt.output)]
    if interrupt.op in ("sleep", "wait", "invoke"):
        return None
    return interrupt.output
