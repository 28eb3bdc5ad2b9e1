"""What one 206 answer changes: the ops of protocol 4.4, decided before anything is written.

`OpsPlan.build()` reads the live run and collects *effects* (functions of a transaction)
that the executor writes in one commit, plus the in-memory changes (new memos, planned
steps, the pending set) that `apply()` makes to the live run only after that commit: a
failed commit leaves memory as it was, and no other call can see an unsaved memo.
Step limits (4.7) are checked here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from . import jsonio
from .calls import Answer
from .clock import now_ms
from .durations import DurationError, parse_duration
from .events import FUNCTION_INVOKED, internal_event
from .expressions import ExpressionError, compile_expression
from .ids import new_ulid
from .queue import QueueItem
from .registry import Registered
from .runs import RunState
from .transitions import MAX_TIMEOUT_MS, Tx

MAX_STEPS = 1000
MAX_STEP_OUTPUT = 4 * 1024 * 1024
MAX_RUN_STATE = 32 * 1024 * 1024
PLANNING_OPS = {"StepPlanned", "Sleep", "WaitForEvent", "InvokeFunction", "AIGateway"}
Effect = Callable[[Tx], None]


class RunFailure(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.body = engine_error(name, message)


class OpsPlan:
    """Everything one 206 answer changes, decided before anything is written."""

    def __init__(
        self,
        run: RunState,
        fn: Registered,
        item: QueueItem,
        answer: Answer,
        started: int,
    ) -> None:
        self.run, self.fn, self.item, self.answer = run, fn, item, answer
        self.started = started
        self.effects: list[Effect] = []
        self.retry: Answer | None = None
        self.retry_step: tuple[str, str] | None = None
        self.need_discovery = False
        # Staged in-memory changes, applied by `apply()` after the commit.
        self.memos: dict[str, bytes] = {}
        self.planned: set[str] = set()
        self.race: set[str] = set()
        self.pending: set[str] = set(run.pending)
        # A `RunComplete` op (other SDKs, protocol 4.17): the run ends with this output.
        self.completes = False
        self.output: Any = None
        # A checkpoint saves steps of a call still in flight: a repeat is harmless, and the
        # call itself, not this plan, asks for what comes next.
        self.checkpoint = False

    def known(self, sid: str) -> bool:
        return sid in self.run.memos or sid in self.memos

    def scheduled(self, sid: str) -> bool:
        return sid in self.run.scheduled or sid in self.planned

    def apply(self) -> None:
        """Make the committed changes visible in the live run."""
        run = self.run
        for sid, memo in self.memos.items():
            run.add_memo(sid, memo)
        run.scheduled |= self.planned
        run.race |= self.race
        run.pending = self.pending

    def build(self) -> None:
        ops = self.answer.body
        if not all(isinstance(op, dict) and isinstance(op.get("id"), str) for op in ops):
            raise RunFailure("InvalidOp", "the SDK answered 206 with an op that has no string id")
        if len(ops) > 1 and any(op.get("op") in PLANNING_OPS for op in ops):
            self.pending = {op["id"] for op in ops if op.get("op") != "RunComplete"}
        for op in sorted(ops, key=_op_order):
            self._op(op)
        run = self.run
        busy = self.effects or self.retry or run.scheduled or self.planned or run.in_flight
        if not (busy or self.completes or run.discovery_waiting or self.checkpoint):
            raise RunFailure(
                "NoProgress",
                "the SDK reported only steps that are already done, so the run cannot go on; "
                "check that step ids are deterministic",
            )
        if run.step_count + len(self.memos) > MAX_STEPS:
            raise RunFailure("InngestErrFunctionOverflowed", f"the run exceeded {MAX_STEPS} steps")
        added = sum(len(m) for m in self.memos.values())
        if run.state_bytes + added > MAX_RUN_STATE:
            raise RunFailure("InngestErrStateOverflowed", "the run's state exceeded 32 MiB")

    def _op(self, op: dict[str, Any]) -> None:
        kind, sid = op.get("op"), op["id"]
        name = str(op.get("displayName") or op.get("name") or sid)
        opts = op.get("opts") or {}
        race = isinstance(opts, dict) and opts.get("parallelMode") == "race"
        if kind == "RunComplete":
            self.completes, self.output = True, op.get("data")
            return
        if kind in ("StepRun", "StepFailed", "StepError") and self.known(sid):
            return
        if kind in PLANNING_OPS and (self.known(sid) or self.scheduled(sid)):
            return
        if kind == "StepRun":
            self._save(sid, name, "run", jsonio.dumpb({"data": op.get("data")}), "Completed", race)
        elif (
            kind == "StepError"
            and not self.answer.no_retry
            and (self.item.attempt + 1 < self.fn.config.max_attempts)
        ):
            self.retry = Answer("error", 206, op.get("error"), retry_at_ms=self.answer.retry_at_ms)
            self.retry_step = (sid, name)
        elif kind in ("StepError", "StepFailed"):
            self._save(
                sid,
                name,
                "run",
                jsonio.dumpb({"error": _step_error(op.get("error"))}),
                "Failed",
                race,
            )
        elif kind == "StepPlanned":
            self._plan(sid, name, "run", race, call=True)
        elif kind == "Sleep":
            self._sleep(sid, name, op, opts, race)
        elif kind == "WaitForEvent":
            self._wait(sid, name, op, opts, race)
        elif kind == "InvokeFunction":
            self._invoke(sid, name, opts, race)
        elif kind == "AIGateway":
            self._ai(sid, str(op.get("displayName") or sid), opts, race)
        else:
            raise RunFailure(
                "UnsupportedOp",
                f"the SDK sent op {kind!r}, which the embedded engine does not support",
            )

    def _save(self, sid: str, name: str, kind: str, memo: bytes, status: str, race: bool) -> None:
        if len(memo) > MAX_STEP_OUTPUT:
            raise RunFailure("InngestErrStateOverflowed", f"step {name!r} returned more than 4 MiB")
        run = self.run
        self.memos[sid] = memo
        self.pending.discard(sid)
        if not self.pending or race or sid in run.race:
            self.need_discovery = True
        started, text = self.started, memo.decode()
        self.effects.append(
            lambda tx: save_step(tx, run.run_id, sid, name, kind, text, status, started)
        )

    def _plan(self, sid: str, name: str, kind: str, race: bool, *, call: bool = False) -> None:
        run = self.run
        self.planned.add(sid)
        if race:
            self.race.add(sid)
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
            raise RunFailure("InvalidSleep", f"cannot read the sleep target {target!r}")
        now = now_ms()
        if wake - now > MAX_TIMEOUT_MS:
            raise RunFailure("InngestErrTimeoutTooLong", "a sleep may last at most 1 year")
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
                raise RunFailure("InvalidExpression", str(exc)) from None
        try:
            timeout_ms = int(parse_duration(opts["timeout"]) * 1000) if opts.get("timeout") else 0
        except DurationError as exc:
            raise RunFailure("InvalidTimeout", str(exc)) from None
        timeout_ms = min(timeout_ms, MAX_TIMEOUT_MS)
        self._plan(sid, str(op.get("displayName") or sid), "wait_for_event", race)
        run_id = self.run.run_id

        def effect(tx: Tx) -> None:
            tx.conn.execute(
                "INSERT OR IGNORE INTO waits(run_id, step_id, kind, event_name, expr, created_at,"
                " expires_at) VALUES (?, ?, 'event', ?, ?, ?, ?)",
                (run_id, sid, event_name, expr, tx.now, tx.now + timeout_ms),
            )
            tx.enqueue(
                run_id,
                "wait_timeout",
                sid,
                due_at=tx.now + timeout_ms,
                dedupe=f"wait:{run_id}:{sid}",
            )

        self.effects.append(effect)

    def _ai(self, sid: str, name: str, opts: Any, race: bool) -> None:
        if not isinstance(opts, dict) or not opts.get("url"):
            raise RunFailure("InvalidOp", f"step.ai.infer {name!r} has no provider url in opts")
        self._plan(sid, name, "ai", race)
        run_id = self.run.run_id

        def effect(tx: Tx) -> None:
            tx.enqueue(run_id, "ai", sid, data={"opts": opts}, dedupe=f"ai:{run_id}:{sid}")

        self.effects.append(effect)

    def _invoke(self, sid: str, name: str, opts: Any, race: bool) -> None:
        opts = opts if isinstance(opts, dict) else {}
        target_id = str(opts.get("function_id") or "")
        payload = opts.get("payload") or {}
        try:
            timeout = parse_duration(opts["timeout"]) if opts.get("timeout") else None
        except DurationError as exc:
            raise RunFailure("InvalidTimeout", str(exc)) from None
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
                memo = {
                    "error": {
                        "name": "Error",
                        "message": f"could not find function with ID: {target_id}",
                    }
                }
                tx.resolve_wait(run.run_id, sid, jsonio.dumps(memo), "Failed")
                return
            tx.enqueue(
                run.run_id,
                "wait_timeout",
                sid,
                due_at=tx.now + timeout_ms,
                data={"invoke": True},
                dedupe=f"wait:{run.run_id}:{sid}",
            )
            data = dict(payload.get("data") or {})
            data["_inngest"] = {
                "fn_id": target.slug,
                "correlation_id": correlation,
                "expire": tx.now + timeout_ms,
                "gid": new_ulid(tx.now),
                "name": name,
                "source_app_id": fn.config.app_name,
                "source_fn_id": fn.config.uuid,
                "source_fn_v": fn.version,
            }
            event = internal_event(FUNCTION_INVOKED, data, new_ulid(tx.now), tx.now)
            if not tx.ingest(event, event["id"], internal=True, correlation_id=correlation):
                memo = {
                    "error": {
                        "name": "Error",
                        "message": "invoked function is rate limited or did not start a run",
                    }
                }
                tx.resolve_wait(run.run_id, sid, jsonio.dumps(memo), "Failed")

        self.effects.append(effect)


def _op_order(op: dict[str, Any]) -> int:
    """WaitForEvent first (a `[WaitForEvent, send]` answer cannot miss its event), RunComplete
    last (the steps reported beside it are saved before the run ends)."""
    kind = op.get("op")
    return 0 if kind == "WaitForEvent" else 2 if kind == "RunComplete" else 1


def save_step(
    tx: Tx,
    run_id: str,
    step_id: str,
    name: str | None,
    kind: str | None,
    memo: str,
    status: str,
    started: int | None = None,
) -> None:
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


def _step_error(error: Any) -> dict[str, Any]:
    err = error if isinstance(error, dict) else {}
    out = {
        "name": str(err.get("name") or "Error"),
        "message": str(err.get("message") or "step failed"),
    }
    if err.get("stack") is not None:
        out["stack"] = err["stack"]
    return out


def engine_error(name: str, message: str) -> dict[str, Any]:
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
