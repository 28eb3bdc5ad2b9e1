"""Runs held warm in their worker between SDK calls, seen from the sidecar.

A cold call re-runs the skill's handler from the start, answering every step already done
from the memos sent in the job: its cost grows with the run's steps. A worker can instead keep
the handler *parked* where the SDK interrupted it (waiting for the answer to the step it just
ran or asked for, see ``handler_thread.py``), and the run's next call, routed to that worker
(``WorkerPool.acquire(owner, run_id=...)``), only answers that step: no memo crosses the pipe,
no step is replayed in the worker, and the SDK's memo bookkeeping skips ahead in one go
(``MemoReplay.skip``).

A parked handler is resumed only when the call is exactly the continuation of what the worker
saw: the same function and code, the same attempt, the memos of the steps it was answered plus
one — the step it waits on — and, when the worker ran that step itself, a memo equal to the
output it produced. Anything else (the call landed on another worker, the worker was recycled,
killed or replaced, the sidecar restarted, the engine's memos differ) is a cold call, as before;
a stale parked handler is dropped then. A parked handler costs memory only (a thread stack and
the skill's objects); a worker keeps at most ``MAX_PARKED_RUNS``, evicting the least recently
parked, and loses them all when it is recycled.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from inngest._internal.step_lib.base import ResponseInterrupt

from sidecar.facade.payload import JSON

from .memos import MemoReplay
from .protocol import Message
from .remote import hashed_step_id

#: Runs one worker keeps parked; the least recently parked is dropped beyond.
MAX_PARKED_RUNS = 4


class _Nothing:
    """No output: the worker did not run the step it waits on (a sleep, an event wait...)."""


NOTHING = _Nothing()
#: The worker's run of the step failed: the handler is not kept (the step is retried or fails).
CALLBACK_FAILED = _Nothing()


def is_interrupt(err: BaseException) -> bool:
    """Whether ``err`` is the SDK ending the request after a step (not a failure)."""
    return isinstance(err, ResponseInterrupt)


@dataclasses.dataclass
class ParkedRun:
    """Where a parked handler stands, as the session that parked it left the run."""

    run_id: str
    #: (content hash, function id, failure handler?) of the code that runs.
    code: tuple[str, str, bool]
    attempt: int
    #: Hashed ids of the memos the call held: the steps the handler was answered.
    keys: set[str]
    #: That call's memo object as sent, if known (``lineage.py``).
    keys_raw: bytes | None
    #: Uses of each step id before the pending step, and their total (the session's counters).
    seen: dict[str, int]
    steps: int
    #: The ``skill.StepError``s the handler was given, by ``name:message``.
    step_errors: dict[str, Any]
    #: The step request the handler waits an answer for, and its hashed id.
    pending: Message
    pending_key: str
    #: What the worker's run of the pending step returned (``NOTHING`` if it did not run it).
    produced: JSON | _Nothing

    @classmethod
    def at_interrupt(
        cls,
        *,
        run_id: str,
        code: tuple[str, str, bool],
        attempt: int,
        keys: set[str],
        keys_raw: bytes | None,
        seen: dict[str, int],
        steps: int,
        step_errors: dict[str, Any],
        pending: Message,
        unique: str,
        produced: JSON | _Nothing,
    ) -> ParkedRun:
        """The state of a run whose handler waits at ``pending`` (the ``unique`` use of its id)."""
        step_id = str(pending["id"])
        # The counters without the pending step: the resuming call counts it again.
        seen[step_id] -= 1
        if not seen[step_id]:
            del seen[step_id]
        request = {k: v for k, v in pending.items() if k not in ("executing", "label", "cpu")}
        return cls(
            run_id=run_id,
            code=code,
            attempt=attempt,
            keys=keys,
            keys_raw=keys_raw,
            seen=seen,
            steps=steps - 1,
            step_errors=step_errors,
            pending=request,
            pending_key=hashed_step_id(unique),
            produced=produced,
        )

    def continues(self, code: tuple[str, str, bool], attempt: int, memos: MemoReplay) -> bool:
        """Whether a call with these memos is exactly the next call of this run."""
        if code != self.code or attempt != self.attempt or self.pending_key in self.keys:
            return False
        memo = memos.only_new(self.keys, self.pending_key, self.keys_raw)
        if memo is None:
            return False
        if isinstance(self.produced, _Nothing):
            return True
        data, error = memo
        return error is None and data == self.produced


class WarmRuns:
    """The runs one worker holds parked, and the park its current job asks for."""

    def __init__(self, limit: int = MAX_PARKED_RUNS) -> None:
        self.limit = limit
        self._runs: collections.OrderedDict[str, ParkedRun] = collections.OrderedDict()
        self._offer: ParkedRun | None = None
        self._parking: str | None = None

    def holds(self, run_id: str | None) -> bool:
        return run_id is not None and run_id in self._runs

    def progress(self, run_id: str | None) -> int:
        """Steps the run's parked handler is past (-1: not held here)."""
        parked = self._runs.get(run_id) if run_id is not None else None
        return -1 if parked is None else parked.steps

    def take(self, run_id: str) -> ParkedRun | None:
        """The run's parked state, no longer held here (the caller resumes or drops it)."""
        return self._runs.pop(run_id, None)

    def offer(self, parked: ParkedRun) -> None:
        """The current job ended at a step the handler can wait at: park it on release."""
        self._offer = parked

    def abandon_message(self) -> Message:
        """What tells the worker to let the current job go: park it when offered, else unwind."""
        parked, self._offer = self._offer, None
        if parked is None:
            return {"op": "abandon"}
        self._runs[parked.run_id] = parked
        evict = []
        while len(self._runs) > self.limit:
            evict.append(self._runs.popitem(last=False)[0])
        self._parking = parked.run_id
        return {"op": "abandon", "park": parked.run_id, "evict": evict}

    def settled(self, answer: str) -> None:
        """The worker's answer to the last abandon: a handler it could not park is gone."""
        run_id, self._parking = self._parking, None
        if run_id is not None and answer != "parked":
            self._runs.pop(run_id, None)

    def __len__(self) -> int:
        return len(self._runs)
