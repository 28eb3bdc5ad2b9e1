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
import logging
from collections.abc import Callable
from typing import Any

from . import jsonio, queue
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
        }.get(item.kind)
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
            url = fn.config.call_url(item.step_id)
            body = run.request_body(
                step_id=item.step_id,
                attempt=item.attempt,
                max_attempts=fn.config.max_attempts,
                disable_immediate=disable,
                with_stack=self.caller.wants_stack(url),
            )
            run.in_flight += 1
            started = now_ms()
            self.calls_sent += 1
            try:
                answer = await self.caller.call(url, body, run.run_id, item.step_id)
            finally:
                run.in_flight -= 1
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
        self,
        run: RunState,
        item: QueueItem,
        answer: Answer,
        first: bool,
        step: tuple[str, str] | None = None,
    ) -> None:
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
                    save_step(tx, run.run_id, step_id, None, None, memo.decode(), status)
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


def _mark_first_call(tx: Tx, run_id: str) -> None:
    tx.conn.execute(
        "UPDATE runs SET first_call_at = COALESCE(first_call_at, ?) WHERE run_id = ?",
        (tx.now, run_id),
    )
