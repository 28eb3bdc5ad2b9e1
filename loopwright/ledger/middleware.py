"""The SDK middleware that writes the ledger, and the listener that closes runs it cannot see end.

Add it to an app's client (``inngest.Inngest(..., middleware=[recorder.middleware])``) and
register ``recorder.listener(client)`` beside the app's functions. Per SDK call the middleware
sees which function and run it is, the attempt, the step that just ran (or the function's
return or error); that is all the ledger needs, so it works the same on the embedded engine
and on real Inngest. Runs that end without a call reaching the app — cancelled, or failed by
the engine itself — are closed by the listener from Inngest's own ``inngest/function.failed``
and ``inngest/function.cancelled`` events.

Nothing here may fail a run: every write is guarded; a failed write is logged, counted and
recorded as a gap (when the store takes writes again).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import inngest
from inngest._internal.middleware_lib import TransformOutputResult  # the hook's argument type

from loopwright.store import Store

from .queued_writer import QueuedLedgerWriter
from .records import StepRecord
from .writer import CallStart, Usage

log = logging.getLogger("loopwright.ledger")

FAILED_EVENT = "inngest/function.failed"
CANCELLED_EVENT = "inngest/function.cancelled"
LISTENER_FN_ID = "loopwright-ledger"
#: Inngest's default when a function sets no retries.
DEFAULT_RETRIES = 4

_STEP_STATUS = {"StepRun": "completed", "StepError": "retrying", "StepFailed": "failed"}


@dataclasses.dataclass(frozen=True)
class Subject:
    """Which skill and version a call belongs to, as the app's handler knows it."""

    skill_id: str | None
    skill_version: int | None


_subject: contextvars.ContextVar[Subject | None] = contextvars.ContextVar(
    "loopwright_ledger_subject", default=None
)


def annotate(*, skill_id: str | None, skill_version: int | None) -> None:
    """Tell the ledger which skill and version the current call runs (call from the handler)."""
    _subject.set(Subject(skill_id, skill_version))


#: Labels of the steps this SDK call runs, by the SDK's de-duplicated id ("classify:1"). Reset
#: by the middleware at the start of each call: the SDK's worker threads keep their context.
_step_labels: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "loopwright_ledger_step_labels", default=None
)


def label_step(unique_id: str, label: str) -> None:
    """Name the step ``unique_id`` of the current call ``"<id> (<label>)"`` in the ledger (call
    from the handler, before the step runs). Only the ledger's name changes, never the id."""
    labels = _step_labels.get()
    if labels is not None:  # else no ledger records this call: nothing to name
        labels[unique_id] = label


def trigger_of(event: Any) -> tuple[str, str | None]:
    """("cron" | "invoke" | "event", the cron expression when there is one)."""
    name = getattr(event, "name", "") or ""
    if name == "inngest/scheduled.timer":
        data = getattr(event, "data", None) or {}
        return "cron", str(data.get("cron")) if data.get("cron") else None
    if name == "inngest/function.invoked":
        return "invoke", None
    return "event", None


class LedgerRecorder:
    """Everything the middleware needs, shared by all calls of one app."""

    def __init__(
        self,
        store: Store,
        *,
        app_id: str,
        usage: Callable[[str], Usage] | None = None,
        ignore: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
        queue: dict[str, Any] | None = None,
    ) -> None:
        # Step records go through a background writer with group commit; ``close`` flushes it.
        self.writer = QueuedLedgerWriter(store, self._failed, **(queue or {}))
        self.app_id = app_id
        self.usage = usage
        self.ignore = ignore | {LISTENER_FN_ID}
        self.clock = clock
        self.failed_writes = 0
        self._pending_gaps: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

    def middleware(self, client: inngest.Inngest, raw_request: object) -> LedgerMiddleware:
        return LedgerMiddleware(client, raw_request, self)

    def ignored(self, function_id: str) -> bool:
        local = function_id.removeprefix(f"{self.app_id}-")
        return local in self.ignore or function_id in self.ignore

    def guarded(self, what: str, run_id: str | None, write: Callable[[], object]) -> None:
        """Run one write; a failure is logged and kept as a gap, never raised into the run."""
        try:
            write()
        except Exception as err:  # the ledger must never fail a skill's run
            self._failed(what, run_id, err)
            return
        if self._pending_gaps:
            self._flush_gaps()

    def _failed(self, what: str, run_id: str | None, err: BaseException) -> None:
        """A write that failed (here, or in the background writer): count it, keep the gap."""
        with self._lock:
            self.failed_writes += 1
            self._pending_gaps.append((what, f"{type(err).__name__}: {err}", run_id))
            del self._pending_gaps[:-1000]
        log.warning("ledger: %s for run %s not written: %s", what, run_id, err)

    def flush(self) -> None:
        """Wait until every queued write is committed (or kept as a gap)."""
        self.writer.flush()
        if self._pending_gaps:
            self._flush_gaps()

    def close(self) -> None:
        """Commit everything queued and stop the background writer (call on app shutdown)."""
        self.writer.close()
        if self._pending_gaps:
            self._flush_gaps()

    def _flush_gaps(self) -> None:
        with self._lock:
            pending, self._pending_gaps = self._pending_gaps, []
        for i, (what, error, run_id) in enumerate(pending):
            try:
                self.writer.record_gap(what, error, run_id)
            except Exception:  # the store still refuses: keep the rest for the next try
                with self._lock:
                    self._pending_gaps[:0] = pending[i:]
                return

    def lookup_usage(self, run_id: str) -> Usage | None:
        if self.usage is None:
            return None
        try:
            return self.usage(run_id)
        except Exception as err:
            log.warning("ledger: LLM usage of run %s unavailable: %s", run_id, err)
            return None

    def listener(self, client: inngest.Inngest) -> inngest.Function[Any]:
        """The function that closes this app's runs from ``function.failed``/``.cancelled``."""
        prefix = f"{self.app_id}-"

        @client.create_function(
            fn_id=LISTENER_FN_ID,
            name="Loopwright run ledger",
            trigger=[
                inngest.TriggerEvent(
                    event=FAILED_EVENT, expression=f"event.data.function_id.startsWith('{prefix}')"
                ),
                inngest.TriggerEvent(
                    event=CANCELLED_EVENT,
                    expression=f"event.data.function_id.startsWith('{prefix}')",
                ),
            ],
            retries=2,
        )
        def close_run(ctx: inngest.ContextSync) -> dict[str, Any]:
            return self.close_from_event(ctx.event.name, dict(ctx.event.data), ctx.event.ts)

        return close_run

    def close_from_event(self, name: str, data: dict[str, Any], ts: int | None) -> dict[str, Any]:
        run_id = str(data.get("run_id") or "")
        function_id = str(data.get("function_id") or "")
        if not run_id or self.ignored(function_id):
            return {"closed": False}
        status = "cancelled" if name == CANCELLED_EVENT else "failed"
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("name") if isinstance(error, dict) else None
        text = f"[{code}] {message}" if code and message else str(message or status)
        at = ts / 1000 if ts else self.clock()
        event = data.get("event")
        original: dict[str, Any] = event if isinstance(event, dict) else {}
        start = CallStart(
            run_id=run_id,
            app_id=self.app_id,
            function_id=function_id,
            skill_id=None,
            skill_version=None,
            trigger="event",
            event_name=original.get("name"),
            event_id=original.get("id"),
            cron=None,
            attempt=0,
            at=at,
        )
        closed = self.writer.run_finished(
            run_id,
            status=status,
            at=at,
            start=start,
            error=text,
            usage=self.lookup_usage(run_id),
        )
        return {"closed": closed, "run_id": run_id, "status": status}


class LedgerMiddleware(inngest.MiddlewareSync):
    """One instance per SDK call (the SDK builds middleware per request)."""

    def __init__(self, client: inngest.Inngest, raw_request: object, recorder: LedgerRecorder):
        super().__init__(client, raw_request)
        self.recorder = recorder
        self.ctx: Any = None
        self.function_id = ""
        self.retries = DEFAULT_RETRIES
        self.first_call = False
        self.call_at = 0.0
        self.exec_at: float | None = None

    def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
        self.ctx = ctx
        self.function_id = str(function.id)
        retries = getattr(getattr(function, "_opts", None), "retries", None)
        self.retries = DEFAULT_RETRIES if retries is None else int(retries)
        self.first_call = steps.size == 0
        self.call_at = self.recorder.clock()
        # A fresh dict that ``label_step`` fills (shared even if the handler runs in a copy).
        _step_labels.set({})

    def before_execution(self) -> None:
        if self.exec_at is None:
            self.exec_at = self.recorder.clock()

    def transform_output(self, result: TransformOutputResult) -> None:
        if self.ctx is None or self.recorder.ignored(self.function_id):
            return
        run_id = str(self.ctx.run_id)
        if self.first_call or self.ctx.attempt > 0:
            start = self._call_start()
            self.recorder.guarded(
                "run start", run_id, lambda: self.recorder.writer.call_started(start)
            )
        if result.step is not None:  # most calls: no CallStart needed for a step
            self._step(run_id, result)
        elif result.error is None:
            self._finish(run_id, self._call_start(), "completed", output=result.output)
        elif (
            isinstance(result.error, inngest.NonRetriableError) or self.ctx.attempt >= self.retries
        ):
            self._finish(run_id, self._call_start(), "failed", error=result.error)
        else:
            error = result.error
            self.recorder.guarded(
                "attempt error",
                run_id,
                lambda: self.recorder.writer.attempt_failed(run_id, self.ctx.attempt, error),
            )

    def _call_start(self) -> CallStart:
        subject = _subject.get() or Subject(None, None)
        event = self.ctx.event
        trigger, cron = trigger_of(event)
        return CallStart(
            run_id=str(self.ctx.run_id),
            app_id=self.recorder.app_id,
            function_id=self.function_id,
            skill_id=subject.skill_id,
            skill_version=subject.skill_version,
            trigger=trigger,
            event_name=getattr(event, "name", None),
            event_id=getattr(event, "id", None) or None,
            cron=cron,
            attempt=int(self.ctx.attempt),
            at=self.call_at,
        )

    def _step(self, run_id: str, result: TransformOutputResult) -> None:
        step = result.step
        assert step is not None
        status = _STEP_STATUS.get(step.op.value)
        if status is None:  # sleeps, waits, invokes: planned, not executed in this call
            return
        now = self.recorder.clock()
        began = self.exec_at if self.exec_at is not None else self.call_at
        error = result.error
        code = type(error).__name__ if error is not None else None
        step_id = _deduped_id(self.ctx, step.id)
        label = (_step_labels.get() or {}).get(step_id)
        record = StepRecord(
            run_id=run_id,
            step_id=step_id,
            name=step.id if label is None else f"{step.id} ({label})",
            op=step.op.value,
            status=status,
            attempt=int(self.ctx.attempt),
            started_at=began,
            duration_ms=max(0.0, (now - began) * 1000),
            error_code=code,
            error_message=str(error)[:4000] if error is not None else None,
        )
        self.recorder.guarded("step", run_id, lambda: self.recorder.writer.step_finished(record))

    def _finish(
        self,
        run_id: str,
        start: CallStart,
        status: str,
        *,
        output: Any = None,
        error: BaseException | None = None,
    ) -> None:
        at = self.recorder.clock()
        usage = self.recorder.lookup_usage(run_id)
        self.recorder.guarded(
            "run end",
            run_id,
            lambda: self.recorder.writer.run_finished(
                run_id,
                status=status,
                at=at,
                start=start,
                error=error,
                output=output,
                usage=usage,
            ),
        )


def _deduped_id(ctx: Any, name: str) -> str:
    """The SDK's own de-duplicated step id ("classify", "classify:1", ...) for the step that
    just ran: its counter has seen the name once per use in this call, the last use being it."""
    counter = getattr(getattr(ctx.step, "_step_id_counter", None), "_counts", None)
    count = counter.get(name, 1) if isinstance(counter, dict) else 1
    return name if count <= 1 else f"{name}:{count - 1}"
