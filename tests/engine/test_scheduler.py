"""The scheduler's timer: a far wake is reached in two legs, so the kernel's timer slack on a long
poll timeout (0.1% of it: ~60 ms on a minute) cannot make a due item late."""

from __future__ import annotations

import asyncio
import pathlib

from engine.clock import now_ms
from engine.queue import QueueItem
from engine.scheduler import _FINAL_LEG_MS, Scheduler
from engine.store import Database


def test_a_far_wake_arms_a_first_leg_that_ends_before_it(tmp_path: pathlib.Path) -> None:
    db = Database(tmp_path / "engine.db")
    dispatched: list[QueueItem] = []

    async def scenario() -> tuple[float, float, float]:
        scheduler = Scheduler(db, dispatched.append)
        loop = asyncio.get_running_loop()
        due = now_ms() + 30_000
        scheduler.schedule(QueueItem(1, "run", "call", "step", 0, due))
        timer = scheduler._timer
        assert timer is not None
        # loop time of the timer vs the item's due time, in seconds from now
        first_leg = timer.when() - loop.time()
        scheduler.stop()
        return first_leg, (due - now_ms()) / 1000, _FINAL_LEG_MS / 1000

    try:
        first_leg, due_in, final_leg = asyncio.run(scenario())
    finally:
        db.close()
    assert first_leg <= due_in - final_leg + 0.05
    assert first_leg > due_in - 2 * final_leg  # one early wake, not a polling loop
    assert dispatched == []


def test_a_near_wake_is_one_timer_at_the_due_time(tmp_path: pathlib.Path) -> None:
    db = Database(tmp_path / "engine.db")

    async def scenario() -> tuple[float, float]:
        scheduler = Scheduler(db, lambda item: None)
        loop = asyncio.get_running_loop()
        due = now_ms() + _FINAL_LEG_MS
        scheduler.schedule(QueueItem(1, "run", "call", "step", 0, due))
        assert scheduler._timer is not None
        at = scheduler._timer.when() - loop.time()
        scheduler.stop()
        return at, (due - now_ms()) / 1000

    try:
        at, due_in = asyncio.run(scenario())
    finally:
        db.close()
    assert abs(at - due_in) < 0.05
