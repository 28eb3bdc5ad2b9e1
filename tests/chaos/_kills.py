"""Kills: SIGKILL the engine, read what it had committed, restart it on the same port and DB.

At each kill, while no engine process exists, a copy of the database tells:
- which events were stored, so that every event acknowledged before the kill can be checked to be
  there (an acknowledged event is never lost);
- which `call` queue items were due and not yet taken. A call whose result the engine had saved
  is always taken in the same transaction that saved it, so these rows are the only calls whose
  work the kill can undo; each such call ran at most one step (a targeted call runs its step; a
  discovery call runs at most one new step before answering). They bound the re-executions that
  the kill may cause (see `_verify.py`);
- which sleeps, waits, invokes and retries were pending, to show that each kind crossed kills.

This reads the engine's tables (`events`, `queue`, `waits`) directly: the one white-box part of
the suite, needed because no API can be asked while the engine is dead. Everything else goes
through HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from collections.abc import Callable

from ._engine import ChaosEngine


@dataclasses.dataclass
class Kill:
    index: int
    life: int  # the life that was killed
    at: float
    restarted: float = 0.0  # the next life answered /health
    stored_events: set[str] = dataclasses.field(default_factory=set)
    due_calls: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (run, stepId)
    sleeps: int = 0
    waits: int = 0
    invokes: int = 0
    retries: int = 0
    tick_downtime: list[str] = dataclasses.field(default_factory=list)  # cron ticks due while dead


def next_minute(t: float) -> float:
    return (int(t) // 60 + 1) * 60.0


def tick_id(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kill_and_restart(
    engine: ChaosEngine, kills: list[Kill], settle: Callable[[], None], *, dead_until: float = 0.0
) -> Kill:
    """Kill the engine, inspect its database, let the SDK take in what the dead engine had sent
    (`settle`), wait until `dead_until`, then restart it."""
    life = len(engine.lives) - 1
    at = engine.kill()
    kill = Kill(index=len(kills), life=life, at=at)
    conn = engine.snapshot()
    try:
        _inspect(conn, kill)
    finally:
        engine.discard_snapshot(conn)
    settle()
    time.sleep(max(0.0, dead_until - time.time()))
    restarted = engine.start()
    kill.restarted = restarted.ready
    boundary = next_minute(at)
    while boundary < kill.restarted:
        kill.tick_downtime.append(tick_id(boundary))
        boundary += 60
    kills.append(kill)
    return kill


def _inspect(conn: sqlite3.Connection, kill: Kill) -> None:
    now_ms = int(kill.at * 1000) + 1
    kill.stored_events = {
        row[0] for row in conn.execute("SELECT DISTINCT internal_id FROM events WHERE internal = 0")
    }
    kill.due_calls = [
        (run_id, step_id)
        for run_id, step_id in conn.execute(
            "SELECT run_id, step_id FROM queue WHERE kind = 'call' AND due_at <= ?", (now_ms,)
        )
    ]
    ((kill.sleeps,),) = conn.execute("SELECT COUNT(*) FROM queue WHERE kind = 'wake'")
    ((kill.waits,),) = conn.execute("SELECT COUNT(*) FROM waits WHERE kind = 'event'")
    ((kill.invokes,),) = conn.execute("SELECT COUNT(*) FROM waits WHERE kind = 'invoke'")
    ((kill.retries,),) = conn.execute(
        "SELECT COUNT(*) FROM queue WHERE kind = 'call' AND attempt > 0"
    )
