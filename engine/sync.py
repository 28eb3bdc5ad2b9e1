"""App sync: `POST /fn/register` with the Dev Server's re-sync semantics (protocol 2).

Added functions start at version 1; changed or kept ones get version + 1 on every
non-identical sync; removed ones are archived (no new runs, in-flight runs finish);
an identical sync (same SHA-256 of the request, no stored error) changes nothing.
A failed sync is stored, because the SDK hides the error from its caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import sqlite3
from typing import Any

from . import jsonio
from .cron import parse_cron
from .functions import FunctionConfig, FunctionConfigError, parse_function
from .ids import app_uuid, function_uuid, new_ulid
from .registry import Registered
from .transitions import Tx

log = logging.getLogger("loopwright.engine")


class SyncError(Exception):
    def __init__(self, message: str, status: int = 400, app_name: str | None = None) -> None:
        super().__init__(message)
        self.status, self.app_name = status, app_name


@dataclasses.dataclass(frozen=True)
class SyncRequest:
    app_name: str
    url: str
    checksum: str
    functions: tuple[FunctionConfig, ...]
    sdk: str | None
    framework: str | None
    app_version: str | None


def parse_register(raw: bytes, expected_kind: str | None, server_kind: str) -> SyncRequest:
    try:
        body = jsonio.loads(raw)
    except jsonio.JSONDecodeError as exc:
        raise SyncError(f"Invalid request: the body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise SyncError("Invalid request: the body must be a JSON object")
    if expected_kind and expected_kind != server_kind:
        raise SyncError(f"Expected server kind {server_kind}, got {expected_kind}")
    lower = {k.lower(): v for k, v in body.items()}
    app_name = lower.get("appname")
    if not isinstance(app_name, str) or not app_name:
        raise SyncError("App ID required")
    functions = lower.get("functions") or []
    if not isinstance(functions, list):
        raise SyncError("Invalid request: 'functions' must be a list", app_name=app_name)
    parsed: list[FunctionConfig] = []
    for raw_fn in functions:
        slug = raw_fn.get("id") if isinstance(raw_fn, dict) else None
        try:
            parsed.append(parse_function(raw_fn, app_name, function_uuid(app_name, str(slug))))
        except FunctionConfigError as exc:
            raise SyncError(str(exc), app_name=app_name) from None
    slugs = [f.slug for f in parsed]
    if len(set(slugs)) != len(slugs):
        dup = next(s for s in slugs if slugs.count(s) > 1)
        raise SyncError(f"function '{dup}': id: is registered twice in one sync", app_name=app_name)
    return SyncRequest(
        app_name=app_name,
        url=str(lower.get("url") or ""),
        checksum=hashlib.sha256(raw).hexdigest(),
        functions=tuple(parsed),
        sdk=lower.get("sdk"),
        framework=lower.get("framework"),
        app_version=lower.get("appversion"),
    )


def apply_sync(tx: Tx, req: SyncRequest) -> tuple[dict[str, Any], dict[str, Registered]]:
    """Store the sync; returns the answer body and the functions whose entry changed."""
    conn = tx.conn
    app_id = app_uuid(req.app_name)
    sync_id = new_ulid(tx.now)
    prev = conn.execute(
        "SELECT checksum, error FROM apps WHERE name = ?", (req.app_name,)
    ).fetchone()
    _log(conn, sync_id, req.app_name, req.url, tx.now, ok=True, modified=False)
    if prev is not None and prev[0] == req.checksum and prev[1] is None:
        return {"ok": True, "modified": False, "app_id": app_id, "sync_id": sync_id}, {}
    _refuse_foreign_slugs(conn, app_id, req)
    conn.execute(
        "INSERT INTO apps(id, name, url, checksum, sdk, framework, app_version, synced_at, error,"
        " sync_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT(name) DO UPDATE SET"
        " url = excluded.url, checksum = excluded.checksum, sdk = excluded.sdk,"
        " framework = excluded.framework, app_version = excluded.app_version,"
        " synced_at = excluded.synced_at, error = NULL, sync_id = excluded.sync_id",
        (
            app_id,
            req.app_name,
            req.url,
            req.checksum,
            req.sdk,
            req.framework,
            req.app_version,
            tx.now,
            sync_id,
        ),
    )
    conn.execute("UPDATE sync_log SET modified = 1 WHERE id = ?", (sync_id,))
    changes: dict[str, Registered] = {}
    old = dict(conn.execute("SELECT slug, version FROM functions WHERE app_id = ?", (app_id,)))
    for cfg in req.functions:
        version = old.pop(cfg.slug, 0) + 1
        conn.execute(
            "INSERT INTO functions(id, app_id, slug, name, config, version, archived, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT(id) DO UPDATE SET"
            " config = excluded.config, name = excluded.name, version = excluded.version,"
            " archived = 0, updated_at = excluded.updated_at",
            (cfg.uuid, app_id, cfg.slug, cfg.name, jsonio.dumps(cfg.raw), version, tx.now),
        )
        changes[cfg.slug] = Registered(cfg, version, archived=False)
    for slug in old:
        conn.execute(
            "UPDATE functions SET archived = 1 WHERE app_id = ? AND slug = ?", (app_id, slug)
        )
        current = tx.snapshot.by_slug.get(slug)
        if current is not None:
            changes[slug] = dataclasses.replace(current, archived=True)
    tx.snapshot = tx.snapshot.replace(changes)
    for fn in changes.values():
        conn.execute(
            "DELETE FROM queue WHERE kind = 'cron' AND dedupe LIKE ?", (f"cron:{fn.config.uuid}:%",)
        )
        if not fn.archived:
            for trigger in fn.config.crons:
                assert trigger.cron is not None
                tx.schedule_cron(fn, parse_cron(trigger.cron.expr))
    body = {"ok": True, "modified": True, "app_id": app_id, "sync_id": sync_id}
    return body, changes


def record_failure(tx: Tx, err: SyncError, url: str | None = None) -> None:
    _log(tx.conn, new_ulid(tx.now), err.app_name, url, tx.now, ok=False, error=str(err))
    if err.app_name:
        tx.conn.execute("UPDATE apps SET error = ? WHERE name = ?", (str(err), err.app_name))


def load_functions(conn: sqlite3.Connection) -> list[Registered]:
    out = []
    rows = conn.execute(
        "SELECT f.id, a.name, f.config, f.version, f.archived FROM functions f"
        " JOIN apps a ON a.id = f.app_id"
    ).fetchall()
    for fn_uuid, app_name, config, version, archived in rows:
        try:
            cfg = parse_function(jsonio.loads(config), app_name, fn_uuid)
        except FunctionConfigError as exc:  # stored by an older engine; keep the rest running
            log.error("not loading a stored function: %s; re-sync its app", exc)
            continue
        out.append(Registered(cfg, version, bool(archived)))
    return out


def _refuse_foreign_slugs(conn: sqlite3.Connection, app_id: str, req: SyncRequest) -> None:
    for cfg in req.functions:
        row = conn.execute(
            "SELECT a.name FROM functions f JOIN apps a ON a.id = f.app_id"
            " WHERE f.slug = ? AND f.app_id != ? AND f.archived = 0",
            (cfg.slug, app_id),
        ).fetchone()
        if row is not None:
            raise SyncError(
                f"function '{cfg.slug}': id: already registered by app '{row[0]}'",
                app_name=req.app_name,
            )


def _log(
    conn: sqlite3.Connection,
    sync_id: str,
    app: str | None,
    url: str | None,
    at: int,
    *,
    ok: bool,
    modified: bool = False,
    error: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO sync_log(id, app_name, url, at, ok, modified, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (sync_id, app, url, at, int(ok), int(modified), error),
    )
