"""``ctx.step``: the step API skill code calls, over a backend that actually drives the steps.

The facade checks everything the skill controls (step ids, durations, JSON-only outputs,
declared events and invoke targets, no nested steps, the step budget) and marks callback
execution with ``scope.inside_step``. The backend does what the engine needs:

* the real adapter (built later, in the worker) forwards to ``inngest.StepSync`` — it
  implements ``StepBackend`` and translates ``inngest.StepError`` into ``errors.StepError``;
* ``recording.RecordingStepBackend`` runs callbacks inline and records them for the dry run.

Both see the same calls with the same arguments, so a skill that passes the dry run calls the
real SDK exactly as it called the double.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from typing import Protocol

from . import scope
from .errors import EmitDenied, StepMisuse
from .events import SOURCE_KEY, EventView, check_event_name
from .exposure import Exposed
from .limits import MAX_EVENTS_PER_SEND, MAX_SLEEP_MS, MAX_STEPS_PER_RUN
from .payload import JSON, to_json_value
from .text import text_problem

STEP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
#: A step label names what one use of a step is about ("checkout"): the run ledger shows the
#: step as ``classify (checkout)``. The id stays the literal the validator enumerates. 64 so
#: that any skill id (up to 63 characters) fits.
MAX_LABEL_CHARS = 64
STEP_METHODS = frozenset({"run", "sleep", "sleep_until", "wait_for_event", "send_event", "invoke"})
#: The platform's own step id (runs started before version pins moved to the store carry the
#: pin as this step's memo, so a skill's step must never produce one).
PIN_STEP_ID = "loopwright-version"


class StepBackend(Protocol):
    """What drives steps. Durations arrive normalized to ``timedelta``; outputs are JSON."""

    def run(
        self, step_id: str, callback: Callable[[], JSON], *, label: str | None = None
    ) -> JSON: ...

    def sleep(self, step_id: str, duration: datetime.timedelta) -> None: ...

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None: ...

    def wait_for_event(
        self, step_id: str, *, event: str, if_exp: str | None, timeout: datetime.timedelta
    ) -> JSON | None: ...

    def send_event(self, step_id: str, events: list[JSON]) -> list[str]: ...

    def invoke(
        self,
        step_id: str,
        *,
        function_id: str,
        data: JSON,
        timeout: datetime.timedelta | None,
    ) -> JSON: ...


@dataclasses.dataclass(frozen=True)
class StepGrants:
    """What the manifest lets this skill's steps do beyond running its own code."""

    emits: frozenset[str] = frozenset()
    invokes: frozenset[str] = frozenset()


class Step(Exposed):
    """``ctx.step`` — the inngest ``StepSync`` API, checked."""

    __slots__ = ("_backend", "_grants", "_run_id", "_seen", "_total")
    public = STEP_METHODS

    def __init__(self, backend: StepBackend, *, run_id: str, grants: StepGrants) -> None:
        self._backend = backend
        self._run_id = run_id
        self._grants = grants
        self._seen: dict[str, int] = {}
        self._total = 0

    def run(
        self, step_id: str, fn: Callable[..., object], *args: object, label: str | None = None
    ) -> JSON:
        unique_id = self._begin(step_id, "run")
        if not callable(fn):
            raise StepMisuse(f"ctx.step.run({step_id!r}, ...) needs a function as second argument")
        if label is not None and (problem := label_problem(label)):
            raise StepMisuse(f"ctx.step.run({step_id!r}, ..., label=...): {problem}")

        def callback() -> JSON:
            with scope.inside_step(self._run_id, unique_id):
                output = fn(*args)
            return to_json_value(output, f"the output of step {step_id!r}")

        return self._backend.run(step_id, callback, label=label)

    def sleep(self, step_id: str, duration: int | datetime.timedelta) -> None:
        self._begin(step_id, "sleep")
        self._backend.sleep(step_id, _duration(duration, f"ctx.step.sleep({step_id!r})"))

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._begin(step_id, "sleep_until")
        if not isinstance(until, datetime.datetime) or until.tzinfo is None:
            raise StepMisuse(
                f"ctx.step.sleep_until({step_id!r}, ...) needs a timezone-aware datetime"
            )
        self._backend.sleep_until(step_id, until)

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: int | datetime.timedelta,
        if_exp: str | None = None,
    ) -> EventView | None:
        self._begin(step_id, "wait_for_event")
        check_event_name(event, f"ctx.step.wait_for_event({step_id!r}) event")
        if if_exp is not None and not isinstance(if_exp, str):
            raise StepMisuse("if_exp must be a CEL expression string")
        found = self._backend.wait_for_event(
            step_id,
            event=event,
            if_exp=if_exp,
            timeout=_duration(timeout, f"ctx.step.wait_for_event({step_id!r}) timeout"),
        )
        return None if found is None else EventView.from_json(found)

    def send_event(self, step_id: str, events: JSON) -> list[str]:
        self._begin(step_id, "send_event")
        batch = events if isinstance(events, list) else [events]
        if not 1 <= len(batch) <= MAX_EVENTS_PER_SEND:
            raise StepMisuse(f"send between 1 and {MAX_EVENTS_PER_SEND} events per step")
        checked = [self._outgoing_event(e, step_id) for e in batch]
        return list(self._backend.send_event(step_id, checked))

    def invoke(
        self,
        step_id: str,
        *,
        function_id: str,
        data: JSON = None,
        timeout: int | datetime.timedelta | None = None,
    ) -> JSON:
        self._begin(step_id, "invoke")
        if function_id not in self._grants.invokes:
            raise EmitDenied(
                f"invoking {function_id!r} is not declared; add it to MANIFEST['invokes']"
            )
        payload = to_json_value({} if data is None else data, f"data of invoke {step_id!r}")
        limit = None if timeout is None else _duration(timeout, f"invoke {step_id!r} timeout")
        return self._backend.invoke(step_id, function_id=function_id, data=payload, timeout=limit)

    def _begin(self, step_id: object, method: str) -> str:
        # Inngest refuses steps inside steps; checking here gives the skill a precise message.
        if scope.current_step() is not None:
            raise StepMisuse(f"ctx.step.{method} was called inside another step's callback")
        if not isinstance(step_id, str) or not STEP_ID_PATTERN.match(step_id):
            raise StepMisuse(f"step id {step_id!r} must match {STEP_ID_PATTERN.pattern}")
        if step_id == PIN_STEP_ID:
            raise StepMisuse(f"step id {step_id!r} is the platform's own; choose another")
        self._total += 1
        if self._total > MAX_STEPS_PER_RUN:
            raise StepMisuse(f"a run may use at most {MAX_STEPS_PER_RUN} steps")
        # Mirror the SDK's counter for repeated ids (a step in a loop): "id", "id:1", "id:2".
        n = self._seen.get(step_id, 0)
        self._seen[step_id] = n + 1
        return step_id if n == 0 else f"{step_id}:{n}"

    def _outgoing_event(self, event: JSON, step_id: str) -> JSON:
        if not isinstance(event, dict) or not isinstance(event.get("name"), str):
            raise StepMisuse("each event is a dict with a 'name' (use skill.Event(name, data))")
        if event["name"] not in self._grants.emits:
            raise EmitDenied(
                f"sending {event['name']!r} is not declared; add it to MANIFEST['emits']"
            )
        unknown = set(event) - {"name", "data", "id", "ts"}
        if unknown:
            raise StepMisuse(f"unknown event fields {sorted(unknown)}")
        data = event.get("data")
        if isinstance(data, dict) and SOURCE_KEY in data:
            raise StepMisuse(
                f"event data key {SOURCE_KEY!r} is reserved: the platform writes the sender's "
                "identity there"
            )
        return to_json_value(
            {"name": event["name"], "data": event.get("data") or {}, **_optional(event)},
            f"an event sent by step {step_id!r}",
        )


def label_problem(label: object) -> str | None:
    """Why ``label`` cannot label a step, with the fix; None when it can."""
    if not isinstance(label, str) or not label.strip():
        return f"the label must be a non-empty string, like label=service; got {label!r}"
    if len(label) > MAX_LABEL_CHARS:
        return f"the label has {len(label)} characters; shorten it to {MAX_LABEL_CHARS} at most"
    return text_problem(label)


def _optional(event: dict[str, JSON]) -> dict[str, JSON]:
    return {k: event[k] for k in ("id", "ts") if event.get(k) is not None}


def _duration(value: object, what: str) -> datetime.timedelta:
    """Durations as in the inngest SDK: an int of milliseconds, or a timedelta."""
    if isinstance(value, bool) or not isinstance(value, int | datetime.timedelta):
        raise StepMisuse(f"{what} must be milliseconds (int) or a datetime.timedelta")
    delta = (
        value if isinstance(value, datetime.timedelta) else datetime.timedelta(milliseconds=value)
    )
    if delta < datetime.timedelta(0) or delta > datetime.timedelta(milliseconds=MAX_SLEEP_MS):
        raise StepMisuse(f"{what} must be between 0 and {MAX_SLEEP_MS} ms")
    return delta
