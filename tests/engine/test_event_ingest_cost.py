"""An event's ingest costs the same however many runs are in flight (engine/transitions.py).

Every ingested event (each trigger, and each run's `inngest/function.finished`) looks for cancel
rules it matches. That lookup used to start from the running runs, so its cost grew with the
number of runs in flight: at 1,000 concurrent runs it was a scan of 1,000 rows per event, twice
per run. The measure here is SQLite's own count of virtual-machine instructions (a progress
handler called on every instruction), which is deterministic: no clock involved.

What cancellation does (a matching event cancels the run, a non-matching one does not) is
covered end to end with the official SDKs in tests/conformance/test_cancel.py and
tests/ts_sdk/test_scenarios.py.
"""

from __future__ import annotations

import pathlib
import sqlite3

from engine.store.schema import DDL
from engine.transitions import CANCEL_RULES_FOR_EVENT

EVENT = "shop/order.created"
NOW = 1_800_000_000_000


def _db(path: pathlib.Path, running: int) -> sqlite3.Connection:
    """`running` runs in flight; one of them cancels on another event name, one on EVENT."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(DDL)
    conn.executemany(
        "INSERT INTO runs(run_id, function_id, slug, function_version, status, event_id, events,"
        " started_at, keys) VALUES (?, 'f', 'app-f', 1, 'Running', ?, '[{}]', 0, '[]')",
        [(f"run{i:06d}", f"ev{i}") for i in range(running)],
    )
    conn.execute(
        "INSERT INTO cancel_rules(run_id, idx, event_name, expr, expires_at)"
        " VALUES ('run000000', 0, 'shop/order.cancelled', NULL, ?), "
        "('run000001', 0, ?, NULL, ?)",
        (NOW + 60_000, EVENT, NOW + 60_000),
    )
    return conn


def _instructions(conn: sqlite3.Connection, name: str) -> tuple[int, list[str]]:
    count = 0

    def tick() -> int:
        nonlocal count
        count += 1
        return 0  # 0 = carry on

    conn.set_progress_handler(tick, 1)
    try:
        rows = conn.execute(CANCEL_RULES_FOR_EVENT, (name, "zzzz", NOW)).fetchall()
    finally:
        conn.set_progress_handler(None, 1)
    return count, [r[0] for r in rows]


def test_cancel_rule_lookup_cost_does_not_grow_with_runs_in_flight(tmp_path: pathlib.Path) -> None:
    few = _db(tmp_path / "few.db", running=10)
    many = _db(tmp_path / "many.db", running=5_000)
    for name, matched in ((EVENT, ["run000001"]), ("shop/order.paid", [])):
        few_cost, few_rows = _instructions(few, name)
        many_cost, many_rows = _instructions(many, name)
        assert few_rows == many_rows == matched
        # Same plan, same rows visited: equal up to B-tree depth (a few instructions).
        assert many_cost <= few_cost + 20, (
            f"{name}: {many_cost} SQLite instructions with 5,000 runs in flight vs {few_cost} "
            "with 10; the lookup is visiting the running runs"
        )


def test_cancel_rule_lookup_skips_finished_runs(tmp_path: pathlib.Path) -> None:
    conn = _db(tmp_path / "e.db", running=3)
    conn.execute("UPDATE runs SET status = 'Completed' WHERE run_id = 'run000001'")
    assert _instructions(conn, EVENT)[1] == []
