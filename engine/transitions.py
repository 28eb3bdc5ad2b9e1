"""Durable state transitions, run inside the writer thread (one transaction each).

A `Tx` wraps one SQLite transaction plus the registry snapshot of that moment, and
collects an `Outcome` that the event loop applies after the commit: new queue items
to schedule, runs that finished, events that were stored. Keeping every decision that
must be atomic (idempotency, rate limits, singleton, waits, cancellation) inside one
transaction is what makes a `kill -9` at any moment safe.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

from . import flow, jsonio, queue
from .clock import rfc3339, utc
from .cron import CronSpec, jitter_offset, next_tick_ms, tick_id
from .events import (
    FUNCTION_CANCELLED,
    FUNCTION_FAILED,
    FUNCTION_FINISHED,
    FUNCTION_INVOKED,
    SCHEDULED_TIMER,
    internal_event,
)
from .expressions import eval_bool, eval_int, eval_key
from .flow import IDEMPOTENCY_MS
from .functions import FunctionConfig
from .ids import new_ulid
from .queue import DISCOVERY, QueueItem
from .registry import Registered, Snapshot

MAX_TIMEOUT_MS = 365 * 24 * 3600 * 1000
_NO_RECURSION = {FUNCTION_FAILED, FUNCTION_FINISHED}
# Cancel rules an incoming event may match. CROSS JOIN keeps SQLite from starting at the runs
# side (runs_by_status), which visits every running run for every event (30,036 SQLite
# instructions per event with 5,000 runs in flight, 96 from the rules' side, which visits only
# the rules waiting for this event name).
CANCEL_RULES_FOR_EVENT = (
    "SELECT c.run_id, c.expr, r.events FROM cancel_rules c CROSS JOIN runs r"
    " ON r.run_id = c.run_id"
    " WHERE c.event_name = ? AND c.run_id < ? AND c.expires_at > ? AND r.status = 'Running'"
)


@dataclasses.dataclass
class Outcome:
    items: list[QueueItem] = dataclasses.field(default_factory=list)
    finished: dict[str, str] = dataclasses.field(default_factory=dict)
    created: list[str] = dataclasses.field(default_factory=list)
    event_ids: list[str] = dataclasses.field(default_factory=list)
    new_runs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    value: Any = None


class Tx:
    def __init__(
        self, conn: sqlite3.Connection, snapshot: Snapshot, ids: queue.ItemIds, now_ms: int
    ) -> None:
        self.conn, self.snapshot, self.ids, self.now = conn, snapshot, ids, now_ms
        self.out = Outcome()

    # -- queue -----------------------------------------------------------------------

    def enqueue(
        self,
        run_id: str | None,
        kind: str,
        step_id: str | None = None,
        *,
        due_at: int | None = None,
        attempt: int = 0,
        data: dict[str, Any] | None = None,
        dedupe: str | None = None,
    ) -> QueueItem:
        item = QueueItem(
            self.ids.next(),
            run_id,
            kind,
            step_id,
            attempt,
            self.now if due_at is None else due_at,
            data,
        )
        queue.insert(self.conn, item, dedupe)
        self.out.items.append(item)
        return item

    # -- events ----------------------------------------------------------------------

    def store_event(self, event: dict[str, Any], internal_id: str, internal: bool) -> None:
        self.conn.execute(
            "INSERT INTO events(internal_id, id, name, body, received_at, internal)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (internal_id, event["id"], event["name"], jsonio.dumps(event), self.now, int(internal)),
        )
        self.out.event_ids.append(internal_id)

    def ingest(
        self,
        event: dict[str, Any],
        internal_id: str,
        *,
        internal: bool = False,
        only: Registered | None = None,
        correlation_id: str | None = None,
    ) -> list[str]:
        """Store one event, start the runs it triggers, feed waits and cancel rules."""
        self.store_event(event, internal_id, internal)
        name = event["name"]
        created: list[str] = []
        if only is not None:
            targets = [only]
        elif name == FUNCTION_INVOKED:
            meta = event["data"].get("_inngest") or {}
            target = self.snapshot.get(str(meta.get("fn_id", "")))
            targets = [target] if target is not None and not target.archived else []
        else:
            targets = [fn for fn in self.snapshot.match(name) if _triggered(fn.config, event)]
        # A cron tick's run carries its expression (the run's `cron` field, as in Inngest).
        cron = event["data"].get("cron") if internal and name == SCHEDULED_TIMER else None
        for fn in targets:
            run_id = self.schedule_run(fn, event, internal_id, correlation_id, cron=cron)
            if run_id:
                created.append(run_id)
        self._match_waits(event, internal_id)
        self._match_cancel_rules(event, internal_id)
        return created

    def _match_waits(self, event: dict[str, Any], internal_id: str) -> None:
        rows = self.conn.execute(
            "SELECT w.run_id, w.step_id, w.expr, r.events FROM waits w JOIN runs r USING (run_id)"
            " WHERE w.kind = 'event' AND w.event_name = ? AND w.created_at <= ?"
            " ORDER BY w.created_at",
            (event["name"], self.now),
        ).fetchall()
        for run_id, step_id, expr, run_events in rows:
            if expr and not eval_bool(expr, {"event": jsonio.loads(run_events)[0], "async": event}):
                continue
            self.resolve_wait(run_id, step_id, jsonio.dumps(event), "Completed")

    def _match_cancel_rules(self, event: dict[str, Any], internal_id: str) -> None:
        rows = self.conn.execute(
            CANCEL_RULES_FOR_EVENT, (event["name"], internal_id, self.now)
        ).fetchall()
        for run_id, expr, run_events in rows:
            trigger = jsonio.loads(run_events)[0]
            if trigger.get("id") == event.get("id") and trigger.get("name") == event.get("name"):
                continue
            if expr and not eval_bool(expr, {"event": trigger, "async": event}):
                continue
            self.finish_run(run_id, "Cancelled", None)

    # -- run creation ----------------------------------------------------------------

    def schedule_run(
        self,
        fn: Registered,
        event: dict[str, Any],
        internal_id: str,
        correlation_id: str | None = None,
        cron: str | None = None,
    ) -> str | None:
        cfg = fn.config
        if cfg.batch is None and not flow.claim(
            self.conn, self.now, f"event:{cfg.uuid}", event["id"], IDEMPOTENCY_MS
        ):
            return None
        scope_vars = {"event": event}
        if cfg.rate_limit is not None and not flow.rate_allows(
            self.conn, self.now, cfg, cfg.rate_limit, scope_vars
        ):
            return None
        if cfg.debounce is not None:
            self._debounce(cfg, event, internal_id)
            return None
        if cfg.batch is not None:
            return self._batch(cfg, event, internal_id)
        return self.create_run(fn, [event], internal_id, correlation_id=correlation_id, cron=cron)

    def create_run(
        self,
        fn: Registered,
        events: list[dict[str, Any]],
        internal_id: str,
        *,
        correlation_id: str | None = None,
        batch_id: str | None = None,
        cron: str | None = None,
    ) -> str | None:
        cfg = fn.config
        event = events[0]
        scope_vars = {"event": event}
        singleton_key = None
        if cfg.singleton is not None:
            singleton_key = eval_key(cfg.singleton.key, scope_vars) if cfg.singleton.key else "*"
            if singleton_key is not None and not self._singleton_allows(cfg, singleton_key):
                return None
        run_id = new_ulid(self.now)
        keys: dict[str, Any] = {"c": flow.concurrency_keys(cfg, scope_vars)}
        if cfg.priority:
            keys["p"] = max(-43200, min(43200, eval_int(cfg.priority, scope_vars)))
        start_at = self.now
        if cfg.throttle is not None:
            start_at = flow.throttle_start(self.conn, self.now, cfg, cfg.throttle, scope_vars)
        self.conn.execute(
            "INSERT INTO runs(run_id, function_id, slug, function_version, status, event_id,"
            " events, batch_id, cron, started_at, correlation_id, keys, singleton_key)"
            " VALUES (?, ?, ?, ?, 'Running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                cfg.uuid,
                cfg.slug,
                fn.version,
                internal_id,
                jsonio.dumps(events),
                batch_id,
                cron,
                self.now,
                correlation_id,
                jsonio.dumps(keys),
                singleton_key,
            ),
        )
        for idx, rule in enumerate(cfg.cancel):
            timeout_ms = int(rule.timeout * 1000) if rule.timeout else MAX_TIMEOUT_MS
            self.conn.execute(
                "INSERT INTO cancel_rules(run_id, idx, event_name, expr, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, idx, rule.event, rule.condition, self.now + timeout_ms),
            )
        if cfg.timeout_start:
            due = self.now + int(cfg.timeout_start * 1000)
            self.enqueue(run_id, "run_timeout", due_at=due, data={"which": "start"})
        if cfg.timeout_finish:
            due = start_at + int(cfg.timeout_finish * 1000)
            self.enqueue(run_id, "run_timeout", due_at=due, data={"which": "finish"})
        self.enqueue(run_id, "call", DISCOVERY, due_at=start_at)
        self.out.created.append(run_id)
        self.out.new_runs.append(
            {
                "run_id": run_id,
                "fn_uuid": cfg.uuid,
                "slug": cfg.slug,
                "events": events,
                "keys": [tuple(k) for k in keys["c"]],
                "priority": keys.get("p", 0),
            }
        )
        return run_id

    def _singleton_allows(self, cfg: FunctionConfig, key: str) -> bool:
        assert cfg.singleton is not None
        row = self.conn.execute(
            "SELECT run_id FROM runs WHERE slug = ? AND singleton_key = ? AND status = 'Running'"
            " LIMIT 1",
            (cfg.slug, key),
        ).fetchone()
        if row is None:
            return True
        if cfg.singleton.mode == "skip":
            return False
        self.finish_run(row[0], "Cancelled", None)
        return True

    def _debounce(self, cfg: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        assert cfg.debounce is not None
        key = (eval_key(cfg.debounce.key, {"event": event}) if cfg.debounce.key else None) or "*"
        row = self.conn.execute(
            "SELECT first_at FROM debounces WHERE function_id = ? AND key = ?", (cfg.uuid, key)
        ).fetchone()
        first_at = row[0] if row else self.now
        due = self.now + int(cfg.debounce.period * 1000)
        if cfg.debounce.timeout:
            due = min(due, first_at + int(cfg.debounce.timeout * 1000))
        self.conn.execute(
            "INSERT OR REPLACE INTO debounces(function_id, key, event, internal_id, first_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (cfg.uuid, key, jsonio.dumps(event), internal_id, first_at),
        )
        self.enqueue(
            None,
            "debounce",
            due_at=due,
            data={"function_id": cfg.uuid, "key": key},
            dedupe=f"debounce:{cfg.uuid}:{key}",
        )

    def _batch(self, cfg: FunctionConfig, event: dict[str, Any], internal_id: str) -> str | None:
        batch = cfg.batch
        assert batch is not None
        fn = self.snapshot.by_uuid[cfg.uuid]
        if batch.condition and not eval_bool(batch.condition, {"event": event}):
            return self.create_run(fn, [event], internal_id, batch_id=new_ulid(self.now))
        key = (eval_key(batch.key, {"event": event}) if batch.key else None) or "*"
        row = self.conn.execute(
            "SELECT events FROM batches WHERE function_id = ? AND key = ?", (cfg.uuid, key)
        ).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO batches(function_id, key, batch_id, events, internal_id, first_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (cfg.uuid, key, new_ulid(self.now), jsonio.dumps([event]), internal_id, self.now),
            )
            self.enqueue(
                None,
                "batch",
                due_at=self.now + int(batch.timeout * 1000),
                data={"function_id": cfg.uuid, "key": key},
                dedupe=f"batch:{cfg.uuid}:{key}",
            )
            size = 1
        else:
            events = [*jsonio.loads(row[0]), event]
            self.conn.execute(
                "UPDATE batches SET events = ? WHERE function_id = ? AND key = ?",
                (jsonio.dumps(events), cfg.uuid, key),
            )
            size = len(events)
        return self.flush_batch(cfg.uuid, key) if size >= batch.max_size else None

    def flush_batch(self, fn_uuid: str, key: str) -> str | None:
        row = self.conn.execute(
            "SELECT batch_id, events, internal_id FROM batches WHERE function_id = ? AND key = ?",
            (fn_uuid, key),
        ).fetchone()
        self.conn.execute("DELETE FROM batches WHERE function_id = ? AND key = ?", (fn_uuid, key))
        self.conn.execute("DELETE FROM queue WHERE dedupe = ?", (f"batch:{fn_uuid}:{key}",))
        fn = self.snapshot.by_uuid.get(fn_uuid)
        if row is None or fn is None or fn.archived:
            return None
        batch_id, events, internal_id = row
        return self.create_run(fn, jsonio.loads(events), internal_id, batch_id=batch_id)

    def fire_debounce(self, fn_uuid: str, key: str) -> None:
        row = self.conn.execute(
            "SELECT event, internal_id FROM debounces WHERE function_id = ? AND key = ?",
            (fn_uuid, key),
        ).fetchone()
        self.conn.execute("DELETE FROM debounces WHERE function_id = ? AND key = ?", (fn_uuid, key))
        fn = self.snapshot.by_uuid.get(fn_uuid)
        if row is None or fn is None or fn.archived:
            return
        self.create_run(fn, [jsonio.loads(row[0])], row[1])

    def fire_cron(self, item: QueueItem, grace_ms: int) -> None:
        data = item.data or {}
        fn = self.snapshot.by_uuid.get(data.get("function_id", ""))
        expr = data.get("cron", "")
        if fn is None or fn.archived or fn.version != data.get("version"):
            return
        spec = next((t.cron for t in fn.config.crons if t.cron and t.cron.expr == expr), None)
        if spec is None:
            return
        scheduled_at = int(data["scheduled_at"])
        if self.now - item.due_at <= grace_ms:
            tick = tick_id(utc(scheduled_at))
            event = internal_event(
                SCHEDULED_TIMER,
                {"cron": expr, "scheduledAt": tick, "fireAt": rfc3339(item.due_at)},
                tick,
                self.now,
            )
            self.ingest(event, new_ulid(self.now), internal=True, only=fn)
        self.schedule_cron(fn, spec, after_ms=scheduled_at)

    def schedule_cron(self, fn: Registered, spec: CronSpec, after_ms: int | None = None) -> None:
        """Queue the first tick of `spec` after `after_ms` that is not in the past."""
        trigger = next(t for t in fn.config.crons if t.cron and t.cron.expr == spec.expr)
        scheduled = next_tick_ms(spec, self.now if after_ms is None else after_ms)
        if scheduled <= self.now:  # the engine was down across it: skip to the future
            scheduled = next_tick_ms(spec, self.now)
        due = scheduled + int(jitter_offset(tick_id(utc(scheduled)), trigger.jitter) * 1000)
        self.enqueue(
            None,
            "cron",
            due_at=due,
            dedupe=f"cron:{fn.config.uuid}:{spec.expr}",
            data={
                "function_id": fn.config.uuid,
                "cron": spec.expr,
                "scheduled_at": scheduled,
                "version": fn.version,
            },
        )

    # -- waits -----------------------------------------------------------------------

    def resolve_wait(self, run_id: str, step_id: str, memo: str, status: str) -> bool:
        """Save a memo for a wait (event or invoke) and let the run continue."""
        gone = self.conn.execute(
            "DELETE FROM waits WHERE run_id = ? AND step_id = ?", (run_id, step_id)
        ).rowcount
        if not gone:
            return False
        self.conn.execute("DELETE FROM queue WHERE dedupe = ?", (f"wait:{run_id}:{step_id}",))
        self.save_memo(run_id, step_id, memo, status)
        self.enqueue(run_id, "resume", step_id)
        return True

    def save_memo(self, run_id: str, step_id: str, memo: str, status: str) -> None:
        self.conn.execute(
            "UPDATE steps SET done = 1, memo = ?, status = ?, ended_at = ?,"
            " seq = (SELECT step_count FROM runs WHERE run_id = ?)"
            " WHERE run_id = ? AND step_id = ?",
            (memo, status, self.now, run_id, run_id, step_id),
        )
        self.conn.execute(
            "UPDATE runs SET step_count = step_count + 1, state_bytes = state_bytes + ?"
            " WHERE run_id = ?",
            (len(memo), run_id),
        )

    # -- finishing -------------------------------------------------------------------

    def finish_run(
        self, run_id: str, status: str, output: Any, http_status: int | None = None
    ) -> bool:
        row = self.conn.execute(
            "SELECT slug, events, correlation_id, status FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None or row[3] != "Running":
            return False
        slug, events_text, correlation_id, _ = row
        self.conn.execute(
            "UPDATE runs SET status = ?, output = ?, ended_at = ? WHERE run_id = ?",
            (status, None if output is None else jsonio.dumps(output), self.now, run_id),
        )
        for table in ("queue", "waits", "cancel_rules"):
            self.conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        self.conn.execute(
            "UPDATE steps SET status = 'Cancelled', ended_at = ? WHERE run_id = ? AND done = 0",
            (self.now, run_id),
        )
        self.out.finished[run_id] = status
        events = jsonio.loads(events_text)
        if correlation_id:
            self._resolve_invoker(correlation_id, status, output)
        if events[0]["name"] not in _NO_RECURSION:
            self._emit_finished(run_id, slug, events, status, output, correlation_id, http_status)
        return True

    def _resolve_invoker(self, correlation_id: str, status: str, output: Any) -> None:
        row = self.conn.execute(
            "SELECT run_id, step_id FROM waits WHERE kind = 'invoke' AND correlation_id = ?",
            (correlation_id,),
        ).fetchone()
        if row is None:
            return
        if status == "Completed":
            memo, step_status = {"data": output}, "Completed"
        elif status == "Failed":
            memo, step_status = {"error": _error_object(output)}, "Failed"
        else:
            memo = {
                "error": {
                    "name": "InngestInvokeCancelledError",
                    "message": "invoked function run was cancelled",
                }
            }
            step_status = "Failed"
        self.resolve_wait(row[0], row[1], jsonio.dumps(memo), step_status)

    def _emit_finished(
        self,
        run_id: str,
        slug: str,
        events: list[dict[str, Any]],
        status: str,
        output: Any,
        correlation_id: str | None,
        http_status: int | None = None,
    ) -> None:
        data: dict[str, Any] = {
            "function_id": slug,
            "run_id": run_id,
            "event": events[0],
            "events": events,
        }
        if status == "Completed":
            data["result"] = output
        elif status == "Failed":
            data["error"] = _error_object(output, http_status)
        if correlation_id:
            data["correlation_id"] = correlation_id
        data["_inngest"] = {"status": status}
        finished = internal_event(FUNCTION_FINISHED, data, new_ulid(self.now), self.now)
        self.ingest(finished, finished["id"], internal=True)
        if status in ("Failed", "Cancelled"):
            name = FUNCTION_FAILED if status == "Failed" else FUNCTION_CANCELLED
            extra = internal_event(name, data, run_id, self.now)
            self.ingest(extra, new_ulid(self.now), internal=True)


def _triggered(cfg: FunctionConfig, event: dict[str, Any]) -> bool:
    from .events import wildcard_keys

    names = {event["name"], *wildcard_keys(event["name"])}
    for trigger in cfg.triggers:
        if trigger.event in names and (
            not trigger.expression or eval_bool(trigger.expression, {"event": event})
        ):
            return True
    return False


def _error_object(output: Any, http_status: int | None = None) -> dict[str, Any]:
    """The SDK's error body, shaped as the Dev Server puts it in function.finished/failed
    (protocol 3.5): `name`/`message`/`stack` from the body, its `code` dropped, and in
    `error` the transport summary of the answer that failed the run."""
    body = output if isinstance(output, dict) else {}
    name = str(body.get("name") or "Error")
    message = str(body.get("message") or body.get("error") or "function failed")
    summary = f"invalid status code: {http_status}" if http_status else f"{name}: {message}"
    err: dict[str, Any] = {"error": summary, "name": name, "message": message}
    if body.get("stack") is not None:
        err["stack"] = body["stack"]
    return err
