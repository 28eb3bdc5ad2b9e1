"""The memos of the SDK call being served: hand them to the worker, then replay them cheaply.

A worker needs every memo of the run to replay the skill's handler without a round trip per
step, so the session reads them from the SDK's execution state when the call starts and sends
them in the job. The steps the worker answered from memos must then be replayed on the SDK, so
that its step counter, its memo bookkeeping and its logger are where they would be had each
step made the round trip. ``step.run`` would do it, at ~25 µs a step (and the SDK's own
``StepMemos.pop`` copies the whole dict on every step: quadratic in the run's steps, ~0.1 s per
call at 1,000 steps). ``MemoReplay`` does what ``report_step`` does for a memo — count the id,
pop the memo in constant time, start the middleware's execution phase once no memo is left —
in ~2 µs.

The SDK also parses every memo of a call into an ``Output`` model as the request arrives (~4 µs
each: 4 ms a call at 1,000 steps), though a warm call (``warm.py``) reads one. Once
``parse_memos_lazily`` ran, each memo is parsed the same way, by the same SDK code, when it is
first read instead.

This reaches into ``inngest._internal`` (pinned in pyproject.toml). When the SDK's internals
change shape, ``MemoReplay.attach`` returns None and the session falls back to the public API:
``step.run`` for replays, or no memos at all for the worker (it then asks step by step).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import inngest
import msgspec
from inngest._internal import types as sdk_types
from inngest._internal.step_lib.base import Output, StepIDCounter, StepMemos

from sidecar.facade.payload import JSON

from .lineage import CallMemos
from .protocol import ANY_NEW_STEP
from .remote import hashed_step_id


class _ConstantTimeMemos(StepMemos):
    """The SDK's memos, popped in constant time; values are parsed ``Output``s or raw memos,
    parsed when read (``parse_memos_lazily``)."""

    def pop(self, hashed_id: str) -> Output | sdk_types.EmptySentinel:
        memo = self._memos.pop(hashed_id, sdk_types.empty_sentinel)
        return memo if isinstance(memo, sdk_types.EmptySentinel) else _parsed(memo)

    def values(self) -> Iterator[Output]:
        return (_parsed(memo) for memo in self._memos.values())

    def get(self, hashed_id: str) -> Output | None:
        if hashed_id not in self._memos:
            return None
        return _parsed(self._memos[hashed_id])  # a raw memo may be ``null`` (a sleep's)

    def items(self) -> Iterator[tuple[str, Output]]:
        return ((key, _parsed(memo)) for key, memo in self._memos.items())

    #: The call's memos as the request brought them (``lineage.py``), when it did.
    call: CallMemos | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, object]) -> StepMemos:
        memos = cls(dict(raw))  # type: ignore[arg-type]  # parsed when read; popped from a copy
        memos.call = raw if isinstance(raw, CallMemos) else None
        return memos


def _parsed(memo: object) -> Output:
    """A memo as ``StepMemos.from_raw`` parses it (which it calls for every memo); its JSON
    is decoded first when the request left it raw (``lazy_request.py``)."""
    if isinstance(memo, Output):
        return memo
    if isinstance(memo, msgspec.Raw):
        memo = msgspec.json.decode(memo)
    output = Output.from_raw(memo)
    # Not every step nests its output in ``data`` (an event wait's memo is the event).
    return Output(data=memo) if isinstance(output, Exception) else output


def parse_memos_lazily() -> bool:
    """Make the SDK keep each call's memos raw until read (for the whole process).

    False (and nothing changed) when the SDK's internals are not the ones this was written for.
    """
    if StepMemos.from_raw == _ConstantTimeMemos.from_raw:
        return True
    if not hasattr(StepMemos, "from_raw") or not hasattr(Output, "from_raw"):
        return False
    StepMemos.from_raw = _ConstantTimeMemos.from_raw  # type: ignore[method-assign]
    return True


class MemoReplay:
    def __init__(self, execution: Any, counter: StepIDCounter, memos: _ConstantTimeMemos) -> None:
        self._execution = execution
        self._counter = counter
        self._memos = memos

    @classmethod
    def attach(cls, ctx: inngest.ContextSync) -> MemoReplay | None:
        step: Any = ctx.step
        execution: Any = getattr(step, "_execution", None)
        memos = getattr(execution, "_memos", None)
        counter = getattr(step, "_step_id_counter", None)
        if (
            not isinstance(memos, StepMemos)
            or not isinstance(getattr(memos, "_memos", None), dict)
            or not isinstance(counter, StepIDCounter)
            or not isinstance(getattr(counter, "_counts", None), dict)
            or not hasattr(getattr(execution, "_middleware", None), "before_execution_sync")
        ):
            return None
        if not isinstance(memos, _ConstantTimeMemos):
            memos = _ConstantTimeMemos(dict(memos._memos))
            execution._memos = memos
        return cls(execution, counter, memos)

    def as_json(self) -> dict[str, JSON] | None:
        """The remaining memos (``{hashed id: {"data"} | {"error"}}``), or None if unreadable."""
        out: dict[str, JSON] = {}
        for key, memo in self._memos.items():
            if not isinstance(memo, Output):
                return None
            if memo.error is not None:
                out[key] = {"error": {"name": memo.error.name, "message": memo.error.message}}
            else:
                out[key] = {"data": memo.data}  # type: ignore[dict-item]
        return out

    def replay(self, step_id: str, hashed_id: str) -> inngest.StepError | None:
        """Consume the memo of one use of ``step_id``; the StepError it holds, if any."""
        self._counter.increment(step_id)
        memo = self._memos.pop(hashed_id)
        if self._memos.size == 0:
            self._execution._middleware.before_execution_sync()
        if isinstance(memo, Output) and memo.error is not None:
            return inngest.StepError(
                message=memo.error.message, name=memo.error.name, stack=memo.error.stack
            )
        return None

    @property
    def call_raw(self) -> bytes | None:
        """The call's memo object as sent (``lineage.py``), if the request kept it."""
        return self._memos.call.raw if self._memos.call is not None else None

    def only_new(
        self, known: set[str], key: str, known_raw: bytes | None = None
    ) -> tuple[JSON, Any] | None:
        """``(data, error)`` of the memo of ``key`` when the call holds exactly the memos
        ``known`` plus that one (a warm resume's check). ``known_raw`` is the memo object of
        the call that held ``known``: when this call's grew from it by ``key`` alone, that is
        proven by bytes (``lineage.py``); else by set operations."""
        held = self._memos._memos
        call = self._memos.call
        grown = call is not None and call.extends(known_raw, key)
        if not grown and (key not in held or len(held) != len(known) + 1 or known.difference(held)):
            return None
        memo = self._memos.get(key)
        assert memo is not None
        return memo.data, memo.error  # type: ignore[return-value]

    def skip(self, seen: dict[str, int], keep: str) -> None:
        """Consume every memo but ``keep`` at once, as ``replay`` would one by one: ``seen``
        counts the uses of each step id (a warm resume: the worker already had them)."""
        counts = self._counter._counts
        for step_id, uses in seen.items():
            counts[step_id] = counts.get(step_id, 0) + uses
        self._memos._memos = {keep: self._memos._memos[keep]}


def has_memo(ctx: inngest.ContextSync, step_id: str | None = None) -> bool:
    """Whether the call brought the memo of ``step_id``'s first use (of any step: None).

    False when the SDK's internals are unreadable (then nothing can be known without running
    the step).
    """
    memos = getattr(getattr(ctx.step, "_execution", None), "_memos", None)
    held = getattr(memos, "_memos", None)
    if not isinstance(memos, StepMemos) or not isinstance(held, dict):
        return False
    return bool(held) if step_id is None else hashed_step_id(step_id) in held


def is_first_call(ctx: inngest.ContextSync) -> bool:
    """Whether the call is certainly the run's first: attempt 0 and no memo at all (False when
    the SDK's internals are unreadable)."""
    memos = getattr(getattr(ctx.step, "_execution", None), "_memos", None)
    held = getattr(memos, "_memos", None)
    return ctx.attempt == 0 and isinstance(memos, StepMemos) and held == {}


def executes_first_new_run(ctx: inngest.ContextSync) -> str | None:
    """Whether the SDK will run the first new ``step.run`` of this call the moment it meets
    it: ``ANY_NEW_STEP``, or the hashed id it runs only if that is the step (a targeted call), or
    None (it plans new steps instead, or its internals are unreadable: ask it step by step).

    Mirrors ``ExecutionV0Sync.report_step``: a step without a memo runs at once unless the
    call targets another step, the engine disabled immediate execution, or the step is in a
    parallel group (skills have none).
    """
    execution = getattr(ctx.step, "_execution", None)
    request = getattr(execution, "_request", None)
    disabled = getattr(getattr(request, "ctx", None), "disable_immediate_execution", None)
    target = getattr(execution, "_target_hashed_id", ANY_NEW_STEP)  # not a hashed id: refused
    if not isinstance(disabled, bool) or target == ANY_NEW_STEP:
        return None
    if isinstance(target, str):
        return target
    return None if disabled or target is not None else ANY_NEW_STEP
