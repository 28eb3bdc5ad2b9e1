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
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from . import ai_gateway, jsonio, queue
from .backoff import Backoff
from .calls import Answer, Caller
from .clock import now_ms
from .limiter import Limiter
from .ops import OpsPlan, RunFailure, engine_error, save_step
from .queue import DISCOVERY, QueueItem
from .registry import Registered, Snapshot
from .runs import LiveRuns, RunState
from .scheduler import Scheduler
from .store import Database
from .transitions import Outcome, Tx

log = logging.getLogger("loopwright.engine")

# An item whose handler raises (an engine fault, not an SDK answer) is retried this many
# times, then parked: kept on disk with its error, shown on the run, never retried forever.
MAX_INTERNAL_FAILURES = 5
INTERNAL_RETRY_MS = 1000


@dataclasses.dataclass
class Dispatch:
    """One call in flight, named by the `ctx.qi_id` it carries; checkpoints must match it."""

    run: RunState
    fn: Registered
    item: QueueItem
    started: int


class StaleDispatch(Exception):
    """A checkpoint from a call the engine no longer waits for (protocol 4.17: answer 409)."""


_INVOKE_TIMEOUT = {
    "error": {
        "name": "InngestInvokeTimeoutError",
        "message": "Timed out waiting for invoked function to complete",
        "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
    }
}


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
        self.dispatches: dict[str, Dispatch] = {}
        self._failures: dict[int, int] = {}
        # Calls carry `<item id>.<boot id><call number>` as qi_id; fresh per process and call, so
        # a checkpoint from a call sent before a restart, or a superseded try, is stale.
        self._nonce = caller.boot_id

    # -- plumbing --------------------------------------------------------------------

    def dispatch(self, item: QueueItem) -> None:
        if item.kind == "call" and item.run_id is not None:
            self.runs.expect_call(item.run_id)
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
                    run_id=spec["run_id"],
                    fn_uuid=spec["fn_uuid"],
                    slug=spec["slug"],
                    status="Running",
                    events=spec["events"],
                    keys=spec["keys"],
                    priority=spec["priority"],
                    pending=set(),
                    discovery_waiting=True,
                )
            )
        for item in outcome.items:
            self.scheduler.schedule(item)

    async def _take_only(self, item: QueueItem) -> None:
        await self.transact(lambda tx: queue.take(tx.conn, item.id))
        self.scheduler.release(item.id)

    async def _handle(self, item: QueueItem) -> None:
        handler = {
            "call": self._call,
            "wake": self._wake,
            "resume": self._resume,
            "wait_timeout": self._wait_timeout,
            "run_timeout": self._run_timeout,
            "debounce": self._debounce,
            "batch": self._batch,
            "cron": self._cron,
            "ai": self._ai,
        }.get(item.kind)
        try:
            if handler is None:
                log.error("dropping queue item %s of unknown kind %r", item.id, item.kind)
                await self._take_only(item)
                return
            await handler(item)
            self._failures.pop(item.id, None)
        except Exception as exc:
            await self._internal_failure(item, exc)

    async def _internal_failure(self, item: QueueItem, exc: Exception) -> None:
        failures = self._failures.get(item.id, 0) + 1
        self.scheduler.release(item.id)
        if failures < MAX_INTERNAL_FAILURES:
            log.exception(
                "queue item %s (%s) failed (%d of %d); retrying in 1 s",
                item.id,
                item.kind,
                failures,
                MAX_INTERNAL_FAILURES,
            )
            self._failures[item.id] = failures
            item.due_at = now_ms() + INTERNAL_RETRY_MS
            self.scheduler.schedule(item)
            return
        self._failures.pop(item.id, None)
        error = f"{type(exc).__name__}: {exc}"
        log.error(
            "queue item %s (%s) of run %s failed %d times; parked: %s",
            item.id,
            item.kind,
            item.run_id,
            failures,
            error,
        )
        try:
            await self.transact(lambda tx: queue.park(tx.conn, item, error, failures, tx.now))
        except Exception:
            log.exception("could not park queue item %s; it stays in the queue", item.id)

    # -- calls -----------------------------------------------------------------------

    async def _call(self, item: QueueItem) -> None:
        assert item.run_id is not None and item.step_id is not None
        self.runs.call_started(item.run_id)
        run = await self.runs.get(item.run_id)
        if run is None or run.status != "Running":
            await self._take_only(item)
            return
        fn = self.snapshot().by_uuid.get(run.fn_uuid)
        if fn is None:
            await self._finish(
                run,
                item,
                "Failed",
                engine_error("FunctionNotFound", f"function {run.slug!r} is no longer registered"),
            )
            return
        if item.step_id != DISCOVERY and item.step_id in run.memos:
            await self._take_only(item)  # never target a memoized step (protocol 4.6.5)
            return
        run.busy += 1
        try:
            answer, first, started = await self._send(run, fn, item)
            # One answer, checkpoint or resumed step of a run at a time: each decides on the
            # committed state the previous one left, and changes memory only after its commit.
            async with run.lock:
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
            qi_id = f"{item.id}.{self._nonce}{self.calls_sent:x}"
            url = fn.config.call_url(item.step_id)
            body = run.request_body(
                step_id=item.step_id,
                attempt=item.attempt,
                max_attempts=fn.config.max_attempts,
                disable_immediate=disable,
                qi_id=qi_id,
                with_stack=self.caller.wants_stack(url),
            )
            run.in_flight += 1
            started = now_ms()
            self.calls_sent += 1
            self.dispatches[qi_id] = Dispatch(run, fn, item, started)
            try:
                answer = await self.caller.call(url, body, run.run_id, item.step_id)
            finally:
                run.in_flight -= 1
                del self.dispatches[qi_id]
        finally:
            self.limiter.release(run.keys)
        return answer, first, started

    async def _on_answer(
        self,
        run: RunState,
        fn: Registered,
        item: QueueItem,
        answer: Answer,
        first: bool,
        started: int,
    ) -> None:
        if answer.kind == "done":
            await self._finish(run, item, "Completed", answer.body, first)
        elif answer.kind == "ops":
            await self._on_ops(run, fn, item, answer, first, started)
        elif not answer.no_retry and item.attempt + 1 < fn.config.max_attempts:
            await self._retry(run, item, answer, first)
        else:
            await self._finish(run, item, "Failed", answer.body, first, answer.status)

    async def _finish(
        self,
        run: RunState,
        item: QueueItem,
        status: str,
        output: Any,
        first: bool = False,
        http_status: int | None = None,
    ) -> None:
        def job(tx: Tx) -> None:
            if not queue.take(tx.conn, item.id):
                return
            if first:
                _mark_first_call(tx, run.run_id)
            tx.finish_run(run.run_id, status, output, http_status)

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _retry(
        self,
        run: RunState,
        item: QueueItem,
        answer: Answer,
        first: bool,
        step: tuple[str, str] | None = None,
    ) -> None:
        """Re-send the same call later; the failed try is recorded on the step it ran."""
        retry = self._retry_job(run, item, answer, step)

        def job(tx: Tx) -> bool:
            moved = retry(tx)
            if moved and first:
                _mark_first_call(tx, run.run_id)
            return moved

        outcome = await self.transact(job)
        self._after_retry(item, outcome.value, retry)

    def _retry_job(
        self, run: RunState, item: QueueItem, answer: Answer, step: tuple[str, str] | None
    ) -> _RetryJob:
        attempt = item.attempt + 1
        due = answer.retry_at_ms or now_ms() + self.backoff.delay_ms(attempt)
        if step is None and item.step_id != DISCOVERY:
            assert item.step_id is not None
            step = (item.step_id, item.step_id)
        return _RetryJob(run.run_id, item.id, attempt, due, step, jsonio.dumps(answer.body))

    def _after_retry(self, item: QueueItem, moved: bool, retry: _RetryJob) -> None:
        self.scheduler.release(item.id)
        if moved:
            item.attempt, item.due_at = retry.attempt, retry.due
            self.scheduler.schedule(item)

    # -- ops -------------------------------------------------------------------------

    async def _on_ops(
        self,
        run: RunState,
        fn: Registered,
        item: QueueItem,
        answer: Answer,
        first: bool,
        started: int,
    ) -> None:
        plan = OpsPlan(run, fn, item, answer, started)
        try:
            plan.build()
        except RunFailure as failure:
            await self._finish(run, item, "Failed", failure.body, first)
            return
        pending_json = jsonio.dumps(sorted(plan.pending))
        need_discovery = plan.need_discovery and not run.discovery_waiting and not plan.completes
        retry = (
            None
            if plan.retry is None or plan.completes
            else self._retry_job(run, item, plan.retry, plan.retry_step)
        )

        def job(tx: Tx) -> bool:
            # The retry of the item and the effects of the same answer commit together.
            if retry is not None:
                if not retry(tx):
                    return False
            elif not queue.take(tx.conn, item.id):
                return False
            if first:
                _mark_first_call(tx, run.run_id)
            for effect in plan.effects:
                effect(tx)
            if plan.completes:
                tx.finish_run(run.run_id, "Completed", plan.output)
                return True
            _next_moves(tx, run.run_id, pending_json, need_discovery)
            return True

        outcome = await self.transact(job)
        if outcome.value:
            plan.apply()
            if need_discovery:
                run.discovery_waiting = True
        if retry is not None:
            self._after_retry(item, bool(outcome.value), retry)
        else:
            self.scheduler.release(item.id)

    # -- checkpoints (protocol 4.17) ----------------------------------------------------

    async def checkpoint(self, run_id: str, qi_id: str, steps: list[Any]) -> None:
        """Save steps the SDK ran within a call still in flight; durable once this returns.

        Raises StaleDispatch when the call is not the one the engine waits for (the engine
        restarted, the item was retried, or the run ended), and RunFailure for bad ops.
        """
        dispatch = self.dispatches.get(qi_id)
        if dispatch is None or dispatch.run.run_id != run_id:
            raise StaleDispatch(f"no call in flight for run {run_id} with qi_id {qi_id!r}")
        run, item = dispatch.run, dispatch.item
        bad = [
            op.get("op") for op in steps if not isinstance(op, dict) or op.get("op") != "StepRun"
        ]
        if bad:
            raise RunFailure(
                "UnsupportedCheckpoint",
                f"a checkpoint may only carry StepRun ops, not {bad!r}; answer other ops in a 206",
            )
        answer = Answer("ops", 206, steps)
        async with run.lock:
            if run.status != "Running" or self.dispatches.get(qi_id) is not dispatch:
                raise StaleDispatch(f"run {run_id} moved on before this checkpoint")
            plan = OpsPlan(run, dispatch.fn, item, answer, dispatch.started)
            plan.checkpoint = True
            plan.build()
            pending_json = jsonio.dumps(sorted(plan.pending))

            def job(tx: Tx) -> bool:
                # The call's own queue row must still exist: it is what a restart re-sends.
                alive = tx.conn.execute(
                    "SELECT 1 FROM queue WHERE id = ? AND run_id = ?", (item.id, run_id)
                ).fetchone()
                if alive is None:
                    return False
                for effect in plan.effects:
                    effect(tx)
                _next_moves(tx, run_id, pending_json, discover=False)
                return True

            outcome = await self.transact(job)
            if not outcome.value:
                raise StaleDispatch(f"the call for run {run_id} is no longer queued")
            plan.apply()

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
            async with run.lock:
                await self._continue_locked(run, item, memo, status)
        finally:
            run.busy -= 1
            self.runs.evict_if_idle(run)

    async def _continue_locked(
        self, run: RunState, item: QueueItem, memo: bytes | None, status: str
    ) -> None:
        assert item.step_id is not None
        step_id = item.step_id
        if run.status != "Running":
            await self._take_only(item)
            return
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
        pending = run.pending - {step_id}
        discover = (not pending or step_id in run.race) and not run.discovery_waiting
        pending_json = jsonio.dumps(sorted(pending))

        def job(tx: Tx) -> bool:
            if not queue.take(tx.conn, item.id):
                return False
            if memo is not None:
                save_step(tx, run.run_id, step_id, None, None, memo.decode(), status)
            _next_moves(tx, run.run_id, pending_json, discover)
            return True

        outcome = await self.transact(job)
        self.scheduler.release(item.id)
        if outcome.value:
            run.add_memo(step_id, saved)
            run.pending = pending
            if discover:
                run.discovery_waiting = True

    async def _ai(self, item: QueueItem) -> None:
        """Call the model provider for `step.ai.infer`; retried under the run's attempts."""
        assert item.run_id is not None
        run = await self.runs.get(item.run_id)
        fn = None if run is None else self.snapshot().by_uuid.get(run.fn_uuid)
        if run is None or run.status != "Running" or fn is None:
            await self._take_only(item)
            return
        result = await ai_gateway.infer(self.caller.session, (item.data or {}).get("opts") or {})
        if not result.ok and result.retriable and item.attempt + 1 < fn.config.max_attempts:
            answer = Answer("error", 0, {"name": "AIGatewayError", "message": result.message})
            await self._retry(run, item, answer, False)
            return
        await self._continue(
            item, jsonio.dumpb(result.memo()), "Completed" if result.ok else "Failed"
        )

    async def _wake(self, item: QueueItem) -> None:
        await self._continue(item, b"null")

    async def _resume(self, item: QueueItem) -> None:
        await self._continue(item, None)

    async def _wait_timeout(self, item: QueueItem) -> None:
        assert item.run_id is not None and item.step_id is not None
        run_id, step_id = item.run_id, item.step_id
        invoke = bool((item.data or {}).get("invoke"))
        memo = jsonio.dumps(_INVOKE_TIMEOUT) if invoke else "null"
        status = "Failed" if invoke else "TimedOut"
        await self._take_then(item, lambda tx: tx.resolve_wait(run_id, step_id, memo, status))

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

    async def _take_then(self, item: QueueItem, action: Callable[[Tx], object]) -> None:
        """Remove the item and act in the same transaction; a stale item does nothing."""

        def job(tx: Tx) -> None:
            if queue.take(tx.conn, item.id):
                action(tx)

        await self.transact(job)
        self.scheduler.release(item.id)

    async def _debounce(self, item: QueueItem) -> None:
        data = item.data or {}
        await self._take_then(item, lambda tx: tx.fire_debounce(data["function_id"], data["key"]))

    async def _batch(self, item: QueueItem) -> None:
        data = item.data or {}
        await self._take_then(item, lambda tx: tx.flush_batch(data["function_id"], data["key"]))

    async def _cron(self, item: QueueItem) -> None:
        await self._take_then(item, lambda tx: tx.fire_cron(item, self.cron_grace_ms))

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


@dataclasses.dataclass(frozen=True)
class _RetryJob:
    """Re-send the same call later; the failed try is recorded on the step it ran."""

    run_id: str
    item_id: int
    attempt: int
    due: int
    step: tuple[str, str] | None
    error: str

    def __call__(self, tx: Tx) -> bool:
        moved = tx.conn.execute(
            "UPDATE queue SET attempt = ?, due_at = ? WHERE id = ?",
            (self.attempt, self.due, self.item_id),
        ).rowcount
        if moved and self.step is not None:
            tx.conn.execute(
                "INSERT INTO steps(run_id, step_id, seq, name, kind, status, attempts,"
                " started_at, error) VALUES (?, ?, -1, ?, 'run', 'Retrying', 1, ?, ?)"
                " ON CONFLICT(run_id, step_id) DO UPDATE SET attempts = steps.attempts + 1,"
                " error = excluded.error, status = 'Retrying'",
                (self.run_id, self.step[0], self.step[1], tx.now, self.error),
            )
        return bool(moved)


def _next_moves(tx: Tx, run_id: str, pending_json: str, discover: bool) -> None:
    """Record the run's pending set and, when it asks for one, its next discovery call."""
    tx.conn.execute("UPDATE runs SET pending = ? WHERE run_id = ?", (pending_json, run_id))
    if discover:
        tx.enqueue(run_id, "call", DISCOVERY)


def _mark_first_call(tx: Tx, run_id: str) -> None:
    tx.conn.execute(
        "UPDATE runs SET first_call_at = COALESCE(first_call_at, ?) WHERE run_id = ?",
        (tx.now, run_id),
    )
