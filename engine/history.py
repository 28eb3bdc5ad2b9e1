"""Reads for the REST API, shaped like Inngest's v1 objects (snake_case; protocol 8).

Extensions (documented in docs/engine.md): `function_slug` on runs, a paged and
filtered run list, a run's steps in execution order, apps and schedules.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from . import clock, jsonio

ACCOUNT_ID = "00000000-0000-4000-8000-000000000001"
ENVIRONMENT_ID = "00000000-0000-4000-8000-000000000002"
_RUN_COLUMNS = (
    "run_id, function_id, slug, function_version, status, event_id, batch_id, cron,"
    " started_at, ended_at, output, correlation_id"
)


def rfc3339(ms: int | None) -> str | None:
    return None if ms is None else clock.rfc3339(ms)


def parse_time(text: str | None, field: str) -> int | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} must be an RFC 3339 time, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def event_shape(row: tuple[Any, ...]) -> dict[str, Any]:
    internal_id, body, received_at = row
    event = jsonio.loads(body)
    return {
        "internal_id": internal_id,
        "account_id": ACCOUNT_ID,
        "environment_id": ENVIRONMENT_ID,
        "source": "key",
        "source_id": None,
        "received_at": rfc3339(received_at),
        **event,
    }


def run_shape(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        run_id,
        fn_uuid,
        slug,
        version,
        status,
        event_id,
        batch_id,
        cron,
        started,
        ended,
        output,
        correlation,
    ) = row
    return {
        "run_id": run_id,
        "run_started_at": rfc3339(started),
        "ended_at": rfc3339(ended),
        "status": status,
        "output": jsonio.loads(output) if output else None,
        "function_id": fn_uuid,
        "function_version": version,
        "environment_id": ENVIRONMENT_ID,
        "event_id": event_id,
        "batch_id": batch_id,
        "original_run_id": None,
        "cron": cron,
        "function_slug": slug,
        "correlation_id": correlation,
    }


def list_events(
    conn: sqlite3.Connection,
    name: str | None,
    after: int,
    before: int | None,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    sql = (
        "SELECT internal_id, body, received_at FROM events WHERE internal = 0 AND received_at >= ?"
    )
    args: list[Any] = [after]
    if name:
        sql += " AND name = ?"
        args.append(name)
    if before is not None:
        sql += " AND received_at <= ?"
        args.append(before)
    if cursor:
        sql += " AND seq < (SELECT MIN(seq) FROM events WHERE internal_id = ?)"
        args.append(cursor)
    sql += " ORDER BY seq DESC LIMIT ?"
    args.append(limit)
    return [event_shape(r) for r in conn.execute(sql, args)]


def get_event(conn: sqlite3.Connection, internal_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT internal_id, body, received_at FROM events WHERE internal_id = ?"
        " ORDER BY seq LIMIT 1",
        (internal_id,),
    ).fetchone()
    return event_shape(row) if row else None


def runs_for_event(conn: sqlite3.Connection, internal_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE event_id = ? ORDER BY run_id", (internal_id,)
    )
    return [run_shape(r) for r in rows]


def get_run(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    run = run_shape(row)
    parked = [
        {"item": i, "kind": k, "step_id": s, "error": e, "failures": f, "parked_at": rfc3339(t)}
        for i, k, s, e, f, t in conn.execute(
            "SELECT id, kind, step_id, error, failures, parked_at FROM parked WHERE run_id = ?"
            " ORDER BY id",
            (run_id,),
        )
    ]
    if parked:  # work the engine gave up on: the run cannot go on until an operator acts
        run["parked"] = parked
    return run


def list_runs(
    conn: sqlite3.Connection,
    *,
    function: str | None,
    status: str | None,
    after: int | None,
    before: int | None,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    """Newest first; `cursor` is the last run id of the previous page."""
    sql, args = f"SELECT {_RUN_COLUMNS} FROM runs WHERE 1 = 1", list[Any]()
    if function:
        # A function's uuid is turned into its slug first, so that one indexed column is
        # matched and read in run-id order (an OR across two columns made SQLite scan and
        # sort every run).
        row = conn.execute("SELECT slug FROM functions WHERE id = ?", (function,)).fetchone()
        sql += " AND slug = ?"
        args.append(row[0] if row else function)
    if status:
        sql += " AND status = ?"
        args.append(status)
    if after is not None:
        sql += " AND started_at >= ?"
        args.append(after)
    if before is not None:
        sql += " AND started_at < ?"
        args.append(before)
    if cursor:
        sql += " AND run_id < ?"
        args.append(cursor)
    sql += " ORDER BY run_id DESC LIMIT ?"
    args.append(limit)
    return [run_shape(r) for r in conn.execute(sql, args)]


def run_steps(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT step_id, name, kind, status, attempts, started_at, ended_at, done, memo, error"
        " FROM steps WHERE run_id = ? ORDER BY done DESC, seq, started_at",
        (run_id,),
    )
    out = []
    for step_id, name, kind, status, attempts, started, ended, done, memo, error in rows:
        value = jsonio.loads(memo) if done and memo else None
        output, err = value, jsonio.loads(error) if error else None
        if isinstance(value, dict) and set(value) <= {"data", "error"}:
            output = value.get("data")
            err = value.get("error", err)
        out.append(
            {
                "id": step_id,
                "name": name,
                "kind": kind,
                "status": status,
                "attempts": attempts,
                "started_at": rfc3339(started),
                "ended_at": rfc3339(ended),
                "output": output,
                "error": err,
            }
        )
    return out


def run_jobs(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, kind, step_id, attempt, due_at FROM queue WHERE run_id = ?"
        " ORDER BY due_at LIMIT 10",
        (run_id,),
    )
    kinds = {"call": "edge", "wake": "sleep", "wait_timeout": "pause", "resume": "edge"}
    return [
        {
            "at": rfc3339(due),
            "position": i,
            "kind": kinds.get(kind, kind),
            "attempt": attempt,
            "step_id": step_id,
            "job_id": str(item_id),
        }
        for i, (item_id, kind, step_id, attempt, due) in enumerate(rows)
    ]


def list_apps(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT a.id, a.name, a.url, a.sdk, a.framework, a.synced_at, a.error,"
        " (SELECT COUNT(*) FROM functions f WHERE f.app_id = a.id AND f.archived = 0)"
        " FROM apps a ORDER BY a.name"
    )
    return [
        {
            "id": i,
            "name": n,
            "url": u,
            "sdk": s,
            "framework": f,
            "synced_at": rfc3339(t),
            "error": e,
            "function_count": c,
        }
        for i, n, u, s, f, t, e, c in rows
    ]


def sync_log(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, app_name, url, at, ok, modified, error FROM sync_log ORDER BY at DESC LIMIT ?",
        (limit,),
    )
    return [
        {
            "id": i,
            "app": a,
            "url": u,
            "at": rfc3339(t),
            "ok": bool(ok),
            "modified": bool(m),
            "error": e,
        }
        for i, a, u, t, ok, m, e in rows
    ]


def app_functions(conn: sqlite3.Connection, app_name: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT f.id, f.slug, f.name, f.config, f.version, f.archived FROM functions f"
        " JOIN apps a ON a.id = f.app_id WHERE a.name = ? ORDER BY f.slug",
        (app_name,),
    )
    return [
        {
            "id": i,
            "slug": s,
            "name": n,
            "config": jsonio.loads(c),
            "version": v,
            "archived": bool(a),
        }
        for i, s, n, c, v, a in rows
    ]


def schedules(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT q.data, q.due_at, f.slug FROM queue q JOIN functions f"
        " ON f.id = json_extract(q.data, '$.function_id') WHERE q.kind = 'cron' ORDER BY q.due_at"
    )
    out = []
    for data, due, slug in rows:
        info = jsonio.loads(data)
        out.append(
            {
                "function_slug": slug,
                "function_id": info["function_id"],
                "cron": info["cron"],
                "next_at": rfc3339(info["scheduled_at"]),
                "fire_at": rfc3339(due),
            }
        )
    return out


def run_events(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]] | None:
    row = conn.execute("SELECT events, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else jsonio.loads(row[0])


def run_memos(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    rows = conn.execute("SELECT step_id, memo FROM steps WHERE run_id = ? AND done = 1", (run_id,))
    return {sid: jsonio.loads(memo) for sid, memo in rows}


def run_status(conn: sqlite3.Connection, run_id: str) -> str | None:
    row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return row[0] if row else None
