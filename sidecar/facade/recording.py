"""The step backend of the dry run: runs callbacks inline, records every step, replays them.

It mirrors what the inngest SDK does on the engine, minus the engine:

* ``run`` executes the callback once and memoizes its output; an ``Exception`` in the
  callback is recorded and surfaces as ``StepError`` (what the SDK raises after the last
  retry), while ``NonRetriableError`` / ``RetryAfterError`` fail the run (as in the SDK);
* ``sleep`` / ``sleep_until`` return at once; ``wait_for_event`` and ``invoke`` return a stub
  given per step id, else the timeout answer (``None``), which every skill must handle;
* in *replay* mode (second pass) it returns memoized results in order and raises
  ``ReplayDiverged`` if the body asks for a different step than the first pass did: the
  nondeterminism that breaks real replays.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Callable, Mapping

from .errors import NonRetriableError, ReplayDiverged, RetryAfterError, StepError
from .payload import JSON


@dataclasses.dataclass
class StepRecord:
    id: str
    op: str
    output: JSON = None
    error: str | None = None
    detail: dict[str, JSON] = dataclasses.field(default_factory=dict)


class RecordingStepBackend:
    def __init__(
        self, stubs: Mapping[str, JSON] | None = None, replay: list[StepRecord] | None = None
    ) -> None:
        self._stubs = dict(stubs or {})
        self._replay = replay
        self._seen: dict[str, int] = {}
        self.records: list[StepRecord] = []

    def run(self, step_id: str, callback: Callable[[], JSON], *, label: str | None = None) -> JSON:
        record = self._next(step_id, "run", **({"label": label} if label is not None else {}))
        if self._replay is not None:
            if record.error is not None:
                name, _, message = record.error.partition(": ")
                raise StepError(name, message)
            return copy.deepcopy(record.output)
        try:
            record.output = callback()
        except (NonRetriableError, RetryAfterError):
            record.error = "run failed"
            raise
        except Exception as err:
            record.error = f"{type(err).__name__}: {err}"
            raise StepError(type(err).__name__, str(err)) from None
        # A copy, as the engine hands back fresh JSON: mutating it must not alter the memo.
        return copy.deepcopy(record.output)

    def sleep(self, step_id: str, duration: datetime.timedelta) -> None:
        self._next(step_id, "sleep", duration_ms=int(duration.total_seconds() * 1000))

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._next(step_id, "sleep_until", until=until.isoformat())

    def wait_for_event(
        self, step_id: str, *, event: str, if_exp: str | None, timeout: datetime.timedelta
    ) -> JSON | None:
        record = self._next(
            step_id,
            "wait_for_event",
            event=event,
            if_exp=if_exp,
            timeout_ms=int(timeout.total_seconds() * 1000),
        )
        if self._replay is None:
            record.output = copy.deepcopy(self._stubs.get(step_id))
        return copy.deepcopy(record.output)

    def send_event(self, step_id: str, events: list[JSON]) -> list[str]:
        record = self._next(step_id, "send_event", events=events)
        record.output = [f"dry-run-{step_id}-{i}" for i in range(len(events))]
        return list(record.output)

    def invoke(
        self, step_id: str, *, function_id: str, data: JSON, timeout: datetime.timedelta | None
    ) -> JSON:
        record = self._next(step_id, "invoke", function_id=function_id, data=data)
        if self._replay is None:
            record.output = copy.deepcopy(self._stubs.get(step_id))
        return copy.deepcopy(record.output)

    def _next(self, step_id: str, op: str, **detail: JSON) -> StepRecord:
        n = self._seen.get(step_id, 0)
        self._seen[step_id] = n + 1
        unique = step_id if n == 0 else f"{step_id}:{n}"
        if self._replay is None:
            record = StepRecord(id=unique, op=op, detail=detail)
            self.records.append(record)
            return record
        position = len(self.records)
        expected = self._replay[position] if position < len(self._replay) else None
        if expected is None or (expected.id, expected.op) != (unique, op):
            first = f"{expected.op} {expected.id!r}" if expected else "the end of the run"
            raise ReplayDiverged(
                f"on replay the function asked for {op} {unique!r} where the first run had "
                f"{first}; code outside steps must make the same decisions on every replay"
            )
        self.records.append(expected)
        return expected
