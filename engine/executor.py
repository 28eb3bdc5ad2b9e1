"""The run engine: turns due queue items into SDK calls and SDK answers into state.

For each item the executor decides in memory what changes (under the event loop, so
decisions about one run never interleave), writes those changes in one transaction,
and only after the commit makes them visible by scheduling the follow-up items.
That order is what guarantees that no step whose result was saved runs again.
See protocol section 4.6 for the algorithm (pending sets, race mode, coalesced
discovery calls, `disable_immediate_execution`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from . import jsonio, queue
from .backoff import Backoff
from .calls import Answer, Caller
from .clock import now_ms
from .durations import DurationError, parse_duration
from .events import FUNCTION_INVOKED, internal_event
from .expressions import ExpressionError, compile_expression
from .ids import new_ulid
from .limiter import Limiter
from .queue import DISCOVERY, QueueItem
from .registry import Registered, Snapshot
from .runs import LiveRuns, RunState
from .scheduler import Scheduler
from .store import Database
from .transitions import MAX_TIMEOUT_MS, Outcome, Tx

log = logging.getLogger("loopwright.engine")

MAX_STEPS = 1000
MAX_STEP_OUTPUT = 4 * 1024 * 1024
MAX_RUN_STATE = 32 * 1024 * 1024
_PLANNING_OPS = {"StepPlanned", "Sleep", "WaitForEvent", "InvokeFunction", "AIGateway"}
_INVOKE_TIMEOUT = {
    "error": {
        "name": "InngestInvokeTimeoutError",
        "message": "Timed out waiting for invoked function to complete",
        "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
    }
}
Effect = Callable[[Tx], None]


class Executor:
    def __init__(
        self,
        db: Database,
        snapshot: Callable[[], Snapshot],
        ids: queue.ItemIds,
        caller: Caller,
        limiter: Limiter,
        backoff: Backoff,
        cron_grace_ms: int,
    ) -> None:
        self.db, self.snapshot, self.ids = db, snapshot, ids
        self.caller, self.limiter, self.backoff = caller, limiter, backoff
        self.cron_grace_ms = cron_grace_ms
        self.runs = LiveRuns(db)
        self.scheduler = Scheduler(db, self.dispatch)
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls_sent = 0

    # -- plumbing --------------------------------------------------------------------

    def dispatch(self, item: QueueItem) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def transact(self, job: Callable[[Tx], Any]) -> Outcome:
        """Run `job` in one transaction and apply its outcome after the commit."""
        snapshot = self.snapshot()

        def run(conn: Any) -> Outcome:
            tx = Tx(conn, snapshot, self.ids, now_ms())
            tx.out.value = job(tx)
            return tx.out

        outcome = await self.db.write(run)
        self.apply(outcome)
        return outcome

    async def transact_value(self, job: Callable[[Tx], Any]) -> Any:
        return (await self.transact(job)).value

    def apply(self, outcome: Outcome) -> None:
        for run_id, status in outcome.finished.items():
            self.runs.drop(run_id, status)
        for spec in outcome.new_runs:
            self.runs.adopt(
                RunState(
                    run_id=spec["run_id"], fn_uuid=spec["fn_uuid"], slug=spec["slug"],
                    status="Running", events=spec["events"], keys=spec["keys"],
                    priority=spec["priority"], pending=set(), discovery_waiting=True,
                )
            )  # fmt: skip
        for item in outcome.items:
            self.scheduler.schedule(item)

    async def _take_only(self, item: QueueItem) -> None:
        await self.transact(lambda tx: queue.take(tx.conn, item.id))
        self.scheduler.release(item.id)

    async def _handle(self, item: QueueItem) -> None:
        handler = {
            "call": self._call, "wake": self._wake, "resume": self._resume,
            "wait_timeout": self._wait_timeout, "run_timeout": self._run_timeout,
            "debounce": self._debounce, "batch": self._batch, "cron": self._cron,
        }.get(item.kind)  # fmt: skip
        try:
            if handler is None:
                log.error("dropping queue item %s of unknown kind %r", item.id, item.kind)
                await self._take_only(item)
                return
            await handler(item)
        except Exception:
            log.exception(
                "queue item %s (%s) failed; it will be retried in 1 s", item.id, item.kind
            )
            self.scheduler.release(item.id)
            item.due_at = now_ms() + 1000
            self.scheduler.schedule(item)

    # -- calls -----------------------------------------------------------------------

    async def _call(self, item: QueueItem) -> None:
        assert item.run_id is not None and item.step_id is not None
        run = await self.runs.get(item.run_id)
        if run is None or run.status != "Running":
            await self._take_only(item)
            return
        fn = self.snapshot().by_uuid.get(run.fn_uuid)
        if fn is None:
            await self._finish(run, item, "Failed", _engine_error("FunctionNotFound",
                               f"function {run.slug!r} is no longer registered"))  # fmt: skip
            return
        if item.step_id != DISCOVERY and item.step_id in run.memos:
            await self._take_only(item)  # never target a memoized step (protocol 4.6.5)
            return
        run.busy += 1
        try:
            answer, first, started = await self._send(run, fn, item)
            if run.status != "Running":
                return  # finished while the call was out: discard the late answer
            await self._on_answer(run, fn, item, answer, first, started)
        finally:
            run.busy -= 1
            self.runs.evict_if_idle(run)

    async def _send(
        self, run: RunState, fn: Registered, item: QueueItem
    ) -> tuple[Answer, bool, int]:
        assert item.step_id is not None
        await self.limiter.acquire(run.keys, run.priority)
        try:
            if item.step_id == DISCOVERY:
                run.discovery_waiting = False
            disable = run.in_flight > 0 or bool(run.scheduled - {item.step_id})
            first, run.begun = not run.begun, True
            body = run.request_body(
                step_id=item.step_id, attempt=item.attempt,
                max_attempts=fn.config.max_attempts, disable_immediate=disable,
            )  # fmt: skip
            run.in_flight += 1
            started = now_ms()
            self.calls_sent += 1
            try:
                answer = await self.caller.call(
                    fn.config.call_url(item.step_id), body, run.run_id, item.step_id
                )
            finally:
                run.in_flight -= 1
        finally:
            self.limiter.release(run.keys)
        return answer, first, started

    async def _on_answer(
        self, run: RunState, fn: Registered, item: QueueItem, answer: Answer, first: bool,
        started: int,
    ) -> None:  # fmt: skip
        if answer.kind == "done":
            await self._finish(run, item, "Completed", answer.body, first)
        elif answer.kind == "ops":
            await self._on_ops(run, fn, item, answer, first, started)
        elif not answer.no_retry and item.attempt + 1 < fn.config.max_attempts:
            await self._retry(run, item, answer, first)
        else:
            await self._finish(run, item, "Failed", answer.body, first)

    async def _finish(
        self, run: RunState, item: QueueItem, status: str, output: Any, first: bool = False
    ) -> None:
        def job(tx: Tx) -> None:
            if not queue.take(tx.conn, item.id):
                return
            if first:
                _mark_first_call(tx, run.run_id)
            tx.finish_run(run.run_id, status, output)

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _retry(
        self, run: RunState, item: QueueItem, answer: Answer, first: bool,
        step: tuple[str, str] | None = None,
    ) -> None:  # fmt: skip
        """Re-send the same call later; the failed try is recorded on the step it ran."""
        attempt = item.attempt + 1
        due = answer.retry_at_ms or now_ms() + self.backoff.delay_ms(attempt)
        error = jsonio.dumps(answer.body)
        if step is None and item.step_id != DISCOVERY:
            assert item.step_id is not None
            step = (item.step_id, item.step_id)

        def job(tx: Tx) -> bool:
            moved = tx.conn.execute(
                "UPDATE queue SET attempt = ?, due_at = ? WHERE id = ?", (attempt, due, item.id)
            ).rowcount
            if moved and step is not None:
                tx.conn.execute(
                    "INSERT INTO steps(run_id, step_id, seq, name, kind, status, attempts,"
                    " started_at, error) VALUES (?, ?, -1, ?, 'run', 'Retrying', 1, ?, ?)"
                    " ON CONFLICT(run_id, step_id) DO UPDATE SET attempts = steps.attempts + 1,"
                    " error = excluded.error, status = 'Retrying'",
                    (run.run_id, step[0], step[1], tx.now, error),
                )
            if moved and first:
                _mark_first_call(tx, run.run_id)
            return bool(moved)

        outcome = await self.transact(job)
        self.scheduler.release(item.id)
        if outcome.value:
            item.attempt, item.due_at = attempt, due
            self.scheduler.schedule(item)

    # -- ops -------------------------------------------------------------------------

    async def _on_ops(
        self, run: RunState, fn: Registered, item: QueueItem, answer: Answer, first: bool,
        started: int,
    ) -> None:  # fmt: skip
        plan = _OpsPlan(self, run, fn, item, answer, started)
        try:
            plan.build()
        except _RunFailure as failure:
            await self._finish(run, item, "Failed", failure.body, first)
            return
        if plan.retry is not None:
            await self._retry(run, item, plan.retry, first, plan.retry_step)
            if not plan.effects:
                return
        pending_json = jsonio.dumps(sorted(run.pending))
        need_discovery = plan.need_discovery and not run.discovery_waiting
        if need_discovery:
            run.discovery_waiting = True
        keep_item = plan.retry is not None

        def job(tx: Tx) -> None:
            if not keep_item and not queue.take(tx.conn, item.id):
                return
            if first:
                _mark_first_call(tx, run.run_id)
            for effect in plan.effects:
                effect(tx)
            tx.conn.execute(
                "UPDATE runs SET pending = ? WHERE run_id = ?", (pending_json, run.run_id)
            )
            if need_discovery:
                tx.enqueue(run.run_id, "call", DISCOVERY)

        await self.transact(job)
        if not keep_item:
            self.scheduler.release(item.id)

    # -- other items -----------------------------------------------------------------

    async def _continue(
        self, item: QueueItem, memo: bytes | None, status: str = "Completed"
    ) -> None:
        """A step resolved outside a call (sleep woke, event arrived, child finished)."""
        assert item.run_id is not None and item.step_id is not None
        run = await self.runs.get(item.run_id)
        if run is None or run.status != "Running":
            await self._take_only(item)
            return
        run.busy += 1
        try:
            step_id = item.step_id
            if memo is None:
                row = await self.db.read(
                    lambda c: c.execute(
                        "SELECT memo FROM steps WHERE run_id = ? AND step_id = ? AND done = 1",
                        (run.run_id, step_id),
                    ).fetchone()
                )
                saved = row[0].encode() if row else b"null"
            else:
                saved = memo
            run.add_memo(step_id, saved)
            run.pending.discard(step_id)
            discover = (not run.pending or step_id in run.race) and not run.discovery_waiting
            if discover:
                run.discovery_waiting = True
            pending_json = jsonio.dumps(sorted(run.pending))

            def job(tx: Tx) -> None:
                if not queue.take(tx.conn, item.id):
                    return
                if memo is not None:
                    _save_step(tx, run.run_id, step_id, None, None, memo.decode(), status)
                tx.conn.execute(
                    "UPDATE runs SET pending = ? WHERE run_id = ?", (pending_json, run.run_id)
                )
                if discover:
                    tx.enqueue(run.run_id, "call", DISCOVERY)

            await self.transact(job)
            self.scheduler.release(item.id)
        finally:
            run.busy -= 1
            self.runs.evict_if_idle(run)

    async def _wake(self, item: QueueItem) -> None:
        await self._continue(item, b"null")

    async def _resume(self, item: QueueItem) -> None:
        await self._continue(item, None)

    async def _wait_timeout(self, item: QueueItem) -> None:
        assert item.run_id is not None and item.step_id is not None
        run_id, step_id = item.run_id, item.step_id
        invoke = bool((item.data or {}).get("invoke"))
        memo = jsonio.dumps(_INVOKE_TIMEOUT) if invoke else "null"

        def job(tx: Tx) -> None:
            if queue.take(tx.conn, item.id):
                tx.resolve_wait(run_id, step_id, memo, "Failed" if invoke else "TimedOut")

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _run_timeout(self, item: QueueItem) -> None:
        assert item.run_id is not None
        run_id = item.run_id
        which = (item.data or {}).get("which")
        live = self.runs.cached(run_id)
        if which == "start" and live is not None and live.begun:
            await self._take_only(item)
            return

        def job(tx: Tx) -> None:
            if not queue.take(tx.conn, item.id):
                return
            if which == "start":
                row = tx.conn.execute(
                    "SELECT first_call_at FROM runs WHERE run_id = ?", (run_id,)
                ).fetchone()
                if row is None or row[0] is not None:
                    return
            tx.finish_run(run_id, "Cancelled", None)

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _debounce(self, item: QueueItem) -> None:
        data = item.data or {}

        def job(tx: Tx) -> None:
            if queue.take(tx.conn, item.id):
                tx.fire_debounce(data["function_id"], data["key"])

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _batch(self, item: QueueItem) -> None:
        data = item.data or {}

        def job(tx: Tx) -> None:
            if queue.take(tx.conn, item.id):
                tx.flush_batch(data["function_id"], data["key"])

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _cron(self, item: QueueItem) -> None:
        def job(tx: Tx) -> None:
            if queue.take(tx.conn, item.id):
                tx.fire_cron(item, self.cron_grace_ms)

        await self.transact(job)
        self.scheduler.release(item.id)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


class _RunFailure(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.body = _engine_error(name, message)


class _OpsPlan:
    """Everything one 206 answer changes, decided before anything is written."""

    def __init__(
        self, ex: Executor, run: RunState, fn: Registered, item: QueueItem, answer: Answer,
        started: int,
    ) -> None:  # fmt: skip
        self.ex, self.run, self.fn, self.item, self.answer = ex, run, fn, item, answer
        self.started = started
        self.effects: list[Effect] = []
        self.retry: Answer | None = None
        self.retry_step: tuple[str, str] | None = None
        self.need_discovery = False

    def build(self) -> None:
        ops = self.answer.body
        if not all(isinstance(op, dict) and isinstance(op.get("id"), str) for op in ops):
            raise _RunFailure("InvalidOp", "the SDK answered 206 with an op that has no string id")
        if len(ops) > 1 and any(op.get("op") in _PLANNING_OPS for op in ops):
            self.run.pending = {op["id"] for op in ops}
        for op in sorted(ops, key=lambda o: o.get("op") != "WaitForEvent"):
            self._op(op)
        run = self.run
        stalled = not (self.effects or self.retry or run.scheduled or run.in_flight)
        if stalled and not run.discovery_waiting:
            raise _RunFailure(
                "NoProgress",
                "the SDK reported only steps that are already done, so the run cannot go on; "
                "check that step ids are deterministic",
            )
        if run.step_count > MAX_STEPS:
            raise _RunFailure("InngestErrFunctionOverflowed",
                              f"the run exceeded {MAX_STEPS} steps")  # fmt: skip
        if run.state_bytes > MAX_RUN_STATE:
            raise _RunFailure("InngestErrStateOverflowed",
                              "the run's state exceeded 32 MiB")  # fmt: skip

    def _op(self, op: dict[str, Any]) -> None:
        kind, sid = op.get("op"), op["id"]
        name = str(op.get("displayName") or op.get("name") or sid)
        opts = op.get("opts") or {}
        race = isinstance(opts, dict) and opts.get("parallelMode") == "race"
        run = self.run
        if kind in ("StepRun", "StepFailed", "StepError") and sid in run.memos:
            return
        if kind in _PLANNING_OPS and (sid in run.memos or sid in run.scheduled):
            return
        if kind == "StepRun":
            self._save(sid, name, "run", jsonio.dumpb({"data": op.get("data")}), "Completed", race)
        elif (
            kind == "StepError"
            and not self.answer.no_retry
            and (self.item.attempt + 1 < self.fn.config.max_attempts)
        ):
            self.retry = Answer("error", 206, op.get("error"))
            self.retry_step = (sid, name)
        elif kind in ("StepError", "StepFailed"):
            self._save(sid, name, "run", jsonio.dumpb({"error": _step_error(op.get("error"))}),
                       "Failed", race)  # fmt: skip
        elif kind == "StepPlanned":
            self._plan(sid, name, "run", race, call=True)
        elif kind == "Sleep":
            self._sleep(sid, name, op, opts, race)
        elif kind == "WaitForEvent":
            self._wait(sid, name, op, opts, race)
        elif kind == "InvokeFunction":
            self._invoke(sid, name, opts, race)
        elif kind == "AIGateway":
            memo = {"error": {"name": "UnsupportedStep", "message": (
                "step.ai.infer is not supported by the embedded engine; "
                "call the provider inside step.run")}}  # fmt: skip
            self._save(sid, name, "ai", jsonio.dumpb(memo), "Failed", race)
        else:
            raise _RunFailure(
                "UnsupportedOp",
                f"the SDK sent op {kind!r}, which the embedded engine does not support",
            )

    def _save(self, sid: str, name: str, kind: str, memo: bytes, status: str, race: bool) -> None:
        if len(memo) > MAX_STEP_OUTPUT:
            raise _RunFailure("InngestErrStateOverflowed",
                              f"step {name!r} returned more than 4 MiB")  # fmt: skip
        run = self.run
        run.add_memo(sid, memo)
        run.pending.discard(sid)
        if not run.pending or race or sid in run.race:
            self.need_discovery = True
        started, text = self.started, memo.decode()
        self.effects.append(
            lambda tx: _save_step(tx, run.run_id, sid, name, kind, text, status, started)
        )

    def _plan(self, sid: str, name: str, kind: str, race: bool, *, call: bool = False) -> None:
        run = self.run
        run.scheduled.add(sid)
        if race:
            run.race.add(sid)
        opts = '{"parallelMode":"race"}' if race else None

        def effect(tx: Tx) -> None:
            tx.conn.execute(
                "INSERT OR IGNORE INTO steps(run_id, step_id, seq, name, kind, status, started_at,"
                " opts) VALUES (?, ?, -1, ?, ?, ?, ?, ?)",
                (run.run_id, sid, name, kind, "Planned" if call else "Waiting", tx.now, opts),
            )
            if call:
                tx.enqueue(run.run_id, "call", sid)

        self.effects.append(effect)

    def _sleep(self, sid: str, name: str, op: dict[str, Any], opts: Any, race: bool) -> None:
        target = (opts.get("duration") if isinstance(opts, dict) else None) or op.get("name") or ""
        wake = _wake_time(str(target))
        if wake is None:
            raise _RunFailure("InvalidSleep", f"cannot read the sleep target {target!r}")
        now = now_ms()
        if wake - now > MAX_TIMEOUT_MS:
            raise _RunFailure("InngestErrTimeoutTooLong", "a sleep may last at most 1 year")
        self._plan(sid, str(op.get("displayName") or sid), "sleep", race)
        run_id = self.run.run_id

        def effect(tx: Tx) -> None:
            tx.enqueue(run_id, "wake", sid, due_at=max(wake, tx.now))

        self.effects.append(effect)

    def _wait(self, sid: str, name: str, op: dict[str, Any], opts: Any, race: bool) -> None:
        opts = opts if isinstance(opts, dict) else {}
        event_name = opts.get("event") or op.get("name")
        expr = opts.get("if") or None
        if expr:
            try:
                compile_expression(expr)
            except ExpressionError as exc:
                raise _RunFailure("InvalidExpression", str(exc)) from None
        try:
            timeout_ms = int(parse_duration(opts["timeout"]) * 1000) if opts.get("timeout") else 0
        except DurationError as exc:
            raise _RunFailure("InvalidTimeout", str(exc)) from None
        timeout_ms = min(timeout_ms, MAX_TIMEOUT_MS)
        self._plan(sid, str(op.get("displayName") or sid), "wait_for_event", race)
        run_id = self.run.run_id

        def effect(tx: Tx) -> None:
            tx.conn.execute(
                "INSERT OR IGNORE INTO waits(run_id, step_id, kind, event_name, expr, created_at,"
                " expires_at) VALUES (?, ?, 'event', ?, ?, ?, ?)",
                (run_id, sid, event_name, expr, tx.now, tx.now + timeout_ms),
            )
            tx.enqueue(run_id, "wait_timeout", sid, due_at=tx.now + timeout_ms,
                       dedupe=f"wait:{run_id}:{sid}")  # fmt: skip

        self.effects.append(effect)

    def _invoke(self, sid: str, name: str, opts: Any, race: bool) -> None:
        opts = opts if isinstance(opts, dict) else {}
        target_id = str(opts.get("function_id") or "")
        payload = opts.get("payload") or {}
        try:
            timeout = parse_duration(opts["timeout"]) if opts.get("timeout") else None
        except DurationError as exc:
            raise _RunFailure("InvalidTimeout", str(exc)) from None
        timeout_ms = min(int(timeout * 1000), MAX_TIMEOUT_MS) if timeout else MAX_TIMEOUT_MS
        self._plan(sid, name, "invoke", race)
        run, fn = self.run, self.fn

        def effect(tx: Tx) -> None:
            target = tx.snapshot.get(target_id)
            correlation = f"{run.run_id}.{sid}"
            tx.conn.execute(
                "INSERT OR IGNORE INTO waits(run_id, step_id, kind, correlation_id, created_at,"
                " expires_at) VALUES (?, ?, 'invoke', ?, ?, ?)",
                (run.run_id, sid, correlation, tx.now, tx.now + timeout_ms),
            )
            if target is None or target.archived:
                memo = {"error": {"name": "Error",
                                  "message": f"could not find function with ID: {target_id}"}}  # fmt: skip
                tx.resolve_wait(run.run_id, sid, jsonio.dumps(memo), "Failed")
                return
            tx.enqueue(run.run_id, "wait_timeout", sid, due_at=tx.now + timeout_ms,
                       data={"invoke": True}, dedupe=f"wait:{run.run_id}:{sid}")  # fmt: skip
            data = dict(payload.get("data") or {})
            data["_inngest"] = {
                "fn_id": target.slug, "correlation_id": correlation,
                "expire": tx.now + timeout_ms, "gid": new_ulid(tx.now), "name": name,
                "source_app_id": fn.config.app_name, "source_fn_id": fn.config.uuid,
                "source_fn_v": fn.version,
            }  # fmt: skip
            event = internal_event(FUNCTION_INVOKED, data, new_ulid(tx.now), tx.now)
            if not tx.ingest(event, event["id"], internal=True, correlation_id=correlation):
                memo = {"error": {"name": "Error", "message": "invoked function is rate limited"
                                  " or did not start a run"}}  # fmt: skip
                tx.resolve_wait(run.run_id, sid, jsonio.dumps(memo), "Failed")

        self.effects.append(effect)


def _save_step(
    tx: Tx, run_id: str, step_id: str, name: str | None, kind: str | None, memo: str,
    status: str, started: int | None = None,
) -> None:  # fmt: skip
    tx.conn.execute(
        "INSERT INTO steps(run_id, step_id, seq, name, kind, status, attempts, started_at,"
        " ended_at, done, memo) VALUES (?, ?, -1, ?, ?, ?, 1, ?, ?, 1, ?)"
        " ON CONFLICT(run_id, step_id) DO UPDATE SET status = excluded.status,"
        " ended_at = excluded.ended_at, done = 1, memo = excluded.memo,"
        " attempts = steps.attempts + 1,"
        " started_at = COALESCE(excluded.started_at, steps.started_at)",
        (run_id, step_id, name or step_id, kind or "run", status, started, tx.now, memo),
    )
    tx.conn.execute(
        "UPDATE steps SET seq = (SELECT step_count FROM runs WHERE run_id = ?)"
        " WHERE run_id = ? AND step_id = ?",
        (run_id, run_id, step_id),
    )
    tx.conn.execute(
        "UPDATE runs SET step_count = step_count + 1, state_bytes = state_bytes + ? WHERE run_id = ?",
        (len(memo), run_id),
    )


def _mark_first_call(tx: Tx, run_id: str) -> None:
    tx.conn.execute(
        "UPDATE runs SET first_call_at = COALESCE(first_call_at, ?) WHERE run_id = ?",
        (tx.now, run_id),
    )


def _step_error(error: Any) -> dict[str, Any]:
    err = error if isinstance(error, dict) else {}
    out = {
        "name": str(err.get("name") or "Error"),
        "message": str(err.get("message") or "step failed"),
    }
    if err.get("stack") is not None:
        out["stack"] = err["stack"]
    return out


def _engine_error(name: str, message: str) -> dict[str, Any]:
    return {"code": "engine_error", "name": name, "message": message, "stack": None}


def _wake_time(text: str) -> int | None:
    """Sleep targets: an ISO date (10+ chars) first, then a duration from now."""
    if len(text) >= 10:
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            return int(when.timestamp() * 1000)
        except ValueError:
            pass
    try:
        return now_ms() + int(parse_duration(text) * 1000)
    except DurationError:
        return None
