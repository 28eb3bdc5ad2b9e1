"""HTTP routes at the origin root (the SDK drops any path prefix; protocol 1.1).

Thin adapters: each handler parses the request, calls the engine or a history read,
and shapes the answer. Errors use Go's `publicerr` shape `{error, status, data}`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.protobuf.message import DecodeError

from . import checkpoint, history, jsonio
from .core import Engine, IngestError
from .executor import StaleDispatch
from .expressions import ExpressionError, compile_expression, eval_bool
from .gateway import GATEWAY_PATH
from .ids import is_ulid, new_ulid
from .ops import RunFailure
from .signing import bearer_ok
from .transitions import Tx

log = logging.getLogger("loopwright.engine.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ENGINE = web.AppKey("engine", Engine)
MAX_BODY = 64 * 1024 * 1024


def json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=jsonio.dumpb(data), status=status, content_type="application/json")


def ok(data: Any) -> web.Response:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json({"data": data, "metadata": {"fetched_at": now, "cached_until": None}})


def error(status: int, message: str) -> web.Response:
    return json({"error": message, "status": status, "data": None}, status)


def build_app(engine: Engine) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_errors, _auth])
    app[ENGINE] = engine
    r = app.router
    r.add_get("/health", health)
    r.add_post("/fn/register", register)
    r.add_post("/e/{key}", send_events)
    r.add_post("/e/", send_events)
    r.add_get("/v0/runs/{run_id}/batch", v0_batch)
    r.add_get("/v0/runs/{run_id}/actions", v0_actions)
    r.add_delete("/v0/runs/{run_id}", cancel_run)
    r.add_get("/v1/events", list_events)
    r.add_get("/v1/events/{id}", get_event)
    r.add_get("/v1/events/{id}/runs", event_runs)
    r.add_get("/v1/runs", list_runs)
    r.add_get("/v1/runs/{run_id}", get_run)
    r.add_delete("/v1/runs/{run_id}", cancel_run)
    r.add_get("/v1/runs/{run_id}/jobs", run_jobs)
    r.add_get("/v1/runs/{run_id}/steps", run_steps)
    r.add_post("/v1/cancellations", create_cancellation)
    r.add_get("/v1/cancellations", list_cancellations)
    r.add_delete("/v1/cancellations/{id}", delete_cancellation)
    r.add_get("/v1/apps", list_apps)
    r.add_post("/v1/apps/sync", sync_app)
    r.add_get("/v1/apps/syncs", sync_log)
    r.add_get("/v1/apps/{app}/functions", app_functions)
    r.add_get("/v1/schedules", schedules)
    r.add_get("/v1/stats", stats)
    r.add_post("/invoke/{slug}", invoke)
    checkpoint.routes(app, _Checkpoints)
    r.add_post("/v0/connect/start", connect_start)
    r.add_post("/v0/connect/flush", connect_flush)
    r.add_get(GATEWAY_PATH, connect_gateway)
    app.on_shutdown.append(_close_gateway)
    for path in (
        "/v1/webhooks",
        "/v1/signals",
        "/v1/realtime",
        "/v2",
        "/v0/gql",
    ):
        r.add_route("*", path, not_implemented)
        r.add_route("*", path + "/{tail:.*}", not_implemented)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error(exc.status, exc.reason or "error")
        raise
    except ValueError as exc:
        return error(400, str(exc))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal engine error; see the engine log")


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    cfg = request.app[ENGINE].config
    path = request.path
    if path.startswith("/e/"):
        key = request.match_info.get("key", "")
        if cfg.event_keys and key not in cfg.event_keys:
            msg = "Event key is required" if not key else "Event key not found"
            return json({"status": 401, "message": "", "error": msg}, 401)
    elif (
        cfg.signing_keys
        and path not in ("/health", GATEWAY_PATH)  # a Connect socket proves its session token
        and not bearer_ok(request.headers.get("Authorization"), list(cfg.signing_keys))
    ):
        return web.Response(status=401, text="Authentication failed")
    return await handler(request)


def _engine(request: web.Request) -> Engine:
    return request.app[ENGINE]


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return jsonio.loads(raw)
    except jsonio.JSONDecodeError as exc:
        raise ValueError(f"Invalid request: the body is not JSON ({exc})") from None


async def connect_start(request: web.Request) -> web.Response:
    try:
        raw = _engine(request).gateway.start(await request.read(), request.host)
    except DecodeError as exc:
        return error(400, f"the body is not a connect StartRequest (protobuf): {exc}")
    return web.Response(body=raw, content_type="application/protobuf")


async def connect_flush(request: web.Request) -> web.Response:
    try:
        raw = _engine(request).gateway.flush(await request.read())
    except DecodeError as exc:
        return error(400, f"the body is not a connect SDKResponse (protobuf): {exc}")
    return web.Response(body=raw, content_type="application/protobuf")


async def connect_gateway(request: web.Request) -> web.StreamResponse:
    return await _engine(request).gateway.serve(request)


async def _close_gateway(app: web.Application) -> None:
    await app[ENGINE].gateway.close()


async def health(request: web.Request) -> web.Response:
    return json({"status": 200, "message": "OK"})


async def not_implemented(request: web.Request) -> web.Response:
    return json({"error": "not implemented by embedded engine", "status": 501}, 501)


class _Checkpoints:
    """Handlers of the checkpoint API (engine/checkpoint.py)."""

    @staticmethod
    async def checkpoint_async(request: web.Request) -> web.Response:
        body = await _json_body(request)
        steps = checkpoint.steps_of(body)
        run_id = request.match_info["run_id"]
        qi_id = body.get("qi_id")
        if not isinstance(qi_id, str) or not qi_id:
            return error(400, "Invalid checkpoint: `qi_id` (the ctx.qi_id of the call) is required")
        try:
            await _engine(request).executor.checkpoint(run_id, qi_id, steps)
        except StaleDispatch as exc:
            return error(409, f"stale dispatch: {exc}")
        except RunFailure as exc:
            return error(400, f"Invalid checkpoint: {checkpoint.failure_message(exc)}")
        return json({"data": None})

    @staticmethod
    async def checkpoint_steps(request: web.Request) -> web.Response:
        return error(501, checkpoint.SYNC_REFUSED)

    @staticmethod
    async def checkpoint_new_run(request: web.Request) -> web.Response:
        return error(501, checkpoint.SYNC_REFUSED)


async def register(request: web.Request) -> web.Response:
    status, body = await _engine(request).register(
        await request.read(), request.headers.get("x-inngest-expected-server-kind")
    )
    return json(body, status)


async def send_events(request: web.Request) -> web.Response:
    try:
        body = await _json_body(request)
    except ValueError as exc:
        return json({"ids": [], "status": 400, "error": str(exc)}, 400)
    if not isinstance(body, dict | list):
        return json(
            {"ids": [], "status": 400, "error": "send a JSON object or array of events"}, 400
        )
    try:
        ids = await _engine(request).ingest(body, request.headers.get("x-inngest-event-id-seed"))
    except IngestError as exc:
        return json({"ids": exc.accepted, "status": exc.status, "error": str(exc)}, exc.status)
    return json({"ids": ids, "status": 200})


def _run_id(request: web.Request) -> str:
    run_id = request.match_info["run_id"]
    if not is_ulid(run_id):
        raise ValueError(f"run id {run_id!r} is not a valid ULID")
    return run_id


async def v0_batch(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    engine = _engine(request)
    status = await engine.db.read(lambda c: history.run_status(c, run_id))
    if status is None:
        return error(404, "run not found")
    if status != "Running":
        return error(410, "runtime state is no longer available; the run has ended")
    return json(await engine.db.read(lambda c: history.run_events(c, run_id)))


async def v0_actions(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    engine = _engine(request)
    status = await engine.db.read(lambda c: history.run_status(c, run_id))
    if status is None:
        return error(404, "run not found")
    if status != "Running":
        return error(410, "runtime state is no longer available; the run has ended")
    live = engine.executor.runs.cached(run_id)
    if live is not None:
        return json(live.memo_map())
    return json(await engine.db.read(lambda c: history.run_memos(c, run_id)))


async def cancel_run(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    engine = _engine(request)
    if await engine.db.read(lambda c: history.run_status(c, run_id)) is None:
        return error(404, "run not found")
    await engine.executor.transact(lambda tx: tx.finish_run(run_id, "Cancelled", None))
    if request.path.startswith("/v0/"):
        return web.Response(status=204)
    return web.Response(status=200)


def _limit(request: web.Request, default: int, maximum: int) -> int:
    text = request.query.get("limit", str(default))
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ValueError(f"limit must be an integer from 1 to {maximum}")
    return int(text)


async def list_events(request: web.Request) -> web.Response:
    q = request.query
    after = history.parse_time(q.get("received_after"), "received_after")
    before = history.parse_time(q.get("received_before"), "received_before")
    cursor = q.get("cursor")
    if cursor and not is_ulid(cursor):
        raise ValueError("cursor must be an event internal_id")
    default_after = int(time.time() * 1000) - 3600_000
    limit = _limit(request, 20, 100)
    rows = await _engine(request).db.read(
        lambda c: history.list_events(
            c, q.get("name"), after if after is not None else default_after, before, limit, cursor
        )
    )
    return ok(rows)


async def get_event(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    if not is_ulid(event_id):
        raise ValueError(f"event id {event_id!r} is not a valid ULID")
    event = await _engine(request).db.read(lambda c: history.get_event(c, event_id))
    return ok(event) if event else error(404, "Event not found")


async def event_runs(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    if not is_ulid(event_id):
        raise ValueError(f"event id {event_id!r} is not a valid ULID")
    return ok(await _engine(request).db.read(lambda c: history.runs_for_event(c, event_id)))


async def list_runs(request: web.Request) -> web.Response:
    q = request.query
    status = q.get("status")
    if status and status not in ("Running", "Completed", "Failed", "Cancelled"):
        raise ValueError("status must be one of Running, Completed, Failed, Cancelled")
    limit = _limit(request, 50, 500)
    kwargs = {
        "function": q.get("function"),
        "status": status,
        "after": history.parse_time(q.get("after"), "after"),
        "before": history.parse_time(q.get("before"), "before"),
        "limit": limit,
        "cursor": q.get("cursor"),
    }
    rows = await _engine(request).db.read(lambda c: history.list_runs(c, **kwargs))  # type: ignore[arg-type]
    next_cursor = rows[-1]["run_id"] if len(rows) == limit else None
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json({"data": rows, "metadata": {"fetched_at": now, "next_cursor": next_cursor}})


async def get_run(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    run = await _engine(request).db.read(lambda c: history.get_run(c, run_id))
    return ok(run) if run else error(404, "run not found")


async def run_jobs(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    return ok(await _engine(request).db.read(lambda c: history.run_jobs(c, run_id)))


async def run_steps(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    engine = _engine(request)
    if await engine.db.read(lambda c: history.run_status(c, run_id)) is None:
        return error(404, "run not found")
    return ok(await engine.db.read(lambda c: history.run_steps(c, run_id)))


async def create_cancellation(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ValueError("send a JSON object {app_id, function_id, started_before, ...}")
    engine = _engine(request)
    slug = f"{body.get('app_id')}-{body.get('function_id')}"
    fn = engine.snapshot.by_slug.get(slug)
    if fn is None:
        return error(
            404, f"function {body.get('function_id')!r} of app {body.get('app_id')!r} not found"
        )
    before = history.parse_time(body.get("started_before"), "started_before")
    if before is None or before > int(time.time() * 1000) + 1000:
        raise ValueError("started_before is required and may not be in the future")
    after = history.parse_time(body.get("started_after"), "started_after")
    expr = body.get("if")
    if expr:
        try:
            compile_expression(expr)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
    cancel_id = new_ulid()
    record = {
        "id": cancel_id,
        "created_at": history.rfc3339(int(time.time() * 1000)),
        "name": None,
        "account_id": history.ACCOUNT_ID,
        "environment_id": history.ENVIRONMENT_ID,
        "app_id": fn.config.app_name,
        "function_internal_id": fn.config.uuid,
        "function_id": body.get("function_id"),
        "started_after": body.get("started_after"),
        "started_before": body.get("started_before"),
        "if": expr,
        "kind": "bulk_run",
        "cause": "api",
        "queue_name": None,
    }

    def job(tx: Tx) -> int:
        tx.conn.execute(
            "INSERT INTO cancellations(id, body, function_id, started_after, started_before, expr,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cancel_id, jsonio.dumps(record), fn.config.uuid, after, before, expr, tx.now),
        )
        rows = tx.conn.execute(
            "SELECT run_id, events FROM runs WHERE function_id = ? AND status = 'Running'"
            " AND started_at <= ? AND started_at >= ?",
            (fn.config.uuid, before, after or 0),
        ).fetchall()
        count = 0
        for run_id, events in rows:
            if expr and not eval_bool(expr, {"event": jsonio.loads(events)[0]}):
                continue
            count += tx.finish_run(run_id, "Cancelled", None)
        return count

    await engine.executor.transact(job)
    return ok(record)


async def list_cancellations(request: web.Request) -> web.Response:
    rows = await _engine(request).db.read(
        lambda c: [
            jsonio.loads(b) for (b,) in c.execute("SELECT body FROM cancellations ORDER BY id")
        ]
    )
    return ok(rows)


async def delete_cancellation(request: web.Request) -> web.Response:
    cancel_id = request.match_info["id"]
    if not is_ulid(cancel_id):
        raise ValueError("cancellation id must be a ULID")
    gone = await _engine(request).executor.transact_value(
        lambda tx: tx.conn.execute("DELETE FROM cancellations WHERE id = ?", (cancel_id,)).rowcount
    )
    return json({"ok": True}) if gone else error(404, "cancellation not found")


async def list_apps(request: web.Request) -> web.Response:
    return ok(await _engine(request).db.read(history.list_apps))


async def sync_log(request: web.Request) -> web.Response:
    return ok(await _engine(request).db.read(history.sync_log))


async def sync_app(request: web.Request) -> web.Response:
    body = await _json_body(request)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(
            'send {"url": "<the app\'s serve URL, e.g. http://127.0.0.1:8000/api/inngest>"}'
        )
    return ok(await _engine(request).sync_url(url))


async def app_functions(request: web.Request) -> web.Response:
    app_name = request.match_info["app"]
    return json(await _engine(request).db.read(lambda c: history.app_functions(c, app_name)))


async def schedules(request: web.Request) -> web.Response:
    return ok(await _engine(request).db.read(history.schedules))


async def stats(request: web.Request) -> web.Response:
    engine = _engine(request)
    ex = engine.executor
    return ok(
        {
            "uptime_s": round(time.time() - engine.started_at, 3),
            "boot_id": ex.caller.boot_id,  # as on every call's x-loopwright-engine-boot header
            "live_runs": len(ex.runs),
            "calls_sent": ex.calls_sent,
            "calls_resent": ex.caller.resent,
            "calls_in_flight": ex.limiter.in_flight,
            "calls_waiting": ex.limiter.waiting,
            "queue_claimed": ex.scheduler.claimed,
            "commits": engine.db.commits,
            "jobs_committed": engine.db.jobs_committed,
            "connect": engine.gateway.stats(),
        }
    )


async def invoke(request: web.Request) -> web.Response:
    from .events import FUNCTION_INVOKED, internal_event

    slug = request.match_info["slug"]
    engine = _engine(request)
    fn = engine.snapshot.get(slug)
    if fn is None or fn.archived:
        return error(404, f"function {slug!r} not found")
    body = await _json_body(request) if await request.read() else {}
    data = dict((body or {}).get("data") or {})
    data["_inngest"] = {"fn_id": fn.slug, "source_app_id": "api"}
    event_id = new_ulid()
    event = internal_event(FUNCTION_INVOKED, data, event_id, int(time.time() * 1000))
    await engine.executor.transact(lambda tx: tx.ingest(event, event_id, internal=True))
    return json({"id": event_id, "status": 200})
