"""Flow control decided when a run is created: idempotency keys, rate limits, throttle and
concurrency keys (protocol section 5). All state is in the `run_keys` table, read and written
inside the caller's transaction, so a decision and the run it allows commit together.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .expressions import eval_key
from .functions import FunctionConfig, Rate

IDEMPOTENCY_MS = 24 * 3600 * 1000


def claim(conn: sqlite3.Connection, now_ms: int, scope: str, key: str, ttl_ms: int) -> bool:
    """Take a key for `ttl_ms`; False when it is already held."""
    row = conn.execute(
        "SELECT expires_at FROM run_keys WHERE scope = ? AND key = ?", (scope, key)
    ).fetchone()
    if row is not None and row[0] > now_ms:
        return False
    conn.execute(
        "INSERT OR REPLACE INTO run_keys(scope, key, value, expires_at) VALUES (?, ?, 0, ?)",
        (scope, key, now_ms + ttl_ms),
    )
    return True


def _tat(conn: sqlite3.Connection, scope: str, key: str, now_s: float) -> float:
    row = conn.execute(
        "SELECT value FROM run_keys WHERE scope = ? AND key = ?", (scope, key)
    ).fetchone()
    return max(row[0] if row else now_s, now_s)


def gcra(
    conn: sqlite3.Connection, now_ms: int, scope: str, key: str, rate: Rate, tolerance_s: float
) -> float:
    """Generic cell rate algorithm: the earliest allowed time (s), booked."""
    now = now_ms / 1000
    tat = _tat(conn, scope, key, now)
    allowed_at = max(now, tat - tolerance_s)
    new_tat = max(tat, allowed_at) + rate.period / rate.limit
    conn.execute(
        "INSERT OR REPLACE INTO run_keys(scope, key, value, expires_at) VALUES (?, ?, ?, ?)",
        (scope, key, new_tat, int((new_tat + rate.period) * 1000)),
    )
    return allowed_at


def rate_allows(
    conn: sqlite3.Connection,
    now_ms: int,
    cfg: FunctionConfig,
    rate: Rate,
    scope_vars: dict[str, Any],
) -> bool:
    """Rate limit (drops) or idempotency (24 h, limit 1): True when a run may be created."""
    key = eval_key(rate.key, scope_vars) if rate.key else "*"
    if key is None:
        return True
    if rate.limit == 1 and rate.period == 86400.0 and rate.key:  # idempotency
        return claim(conn, now_ms, f"idem:{cfg.uuid}", key, IDEMPOTENCY_MS)
    interval = rate.period / rate.limit
    now = now_ms / 1000
    if _tat(conn, f"rate:{cfg.uuid}", key, now) - now > rate.period - interval + 1e-9:
        return False
    gcra(conn, now_ms, f"rate:{cfg.uuid}", key, rate, rate.period - interval)
    return True


def throttle_start(
    conn: sqlite3.Connection,
    now_ms: int,
    cfg: FunctionConfig,
    rate: Rate,
    scope_vars: dict[str, Any],
) -> int:
    """Throttle (delays, never drops): when the run's first call may go, in ms."""
    key = eval_key(rate.key, scope_vars) if rate.key else "*"
    if key is None:
        return now_ms
    interval = rate.period / rate.limit
    allowed = gcra(conn, now_ms, f"throttle:{cfg.uuid}", key, rate, interval * (rate.burst - 1))
    return int(allowed * 1000)


def concurrency_keys(cfg: FunctionConfig, scope_vars: dict[str, Any]) -> list[list[Any]]:
    """`[key, limit]` pairs for the limiter; `env`/`account` scopes share keys across functions."""
    keys: list[list[Any]] = []
    for c in cfg.concurrency:
        value = eval_key(c.key, scope_vars) if c.key else "*"
        if value is None:
            continue
        owner = cfg.uuid if c.scope == "fn" else f"env:{c.key or ''}"
        keys.append([f"{owner}:{value}", c.limit])
    return keys
