"""The engine's call limiter: global and per-key caps, order, and keys that block only their own."""

from __future__ import annotations

import asyncio

from engine.limiter import Keys, Limiter

APP = [("fn:a", 2)]  # a function limited to 2 calls at once
OTHER = [("fn:b", 2)]


async def waiter(limiter: Limiter, keys: Keys, admitted: list[str], name: str) -> None:
    await limiter.acquire(keys)
    admitted.append(name)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_full_key_holds_its_callers_and_not_other_keys() -> None:
    async def scenario() -> None:
        limiter = Limiter(global_limit=10)
        admitted: list[str] = []
        tasks = [asyncio.create_task(waiter(limiter, APP, admitted, f"a{i}")) for i in range(5)]
        tasks.append(asyncio.create_task(waiter(limiter, OTHER, admitted, "b0")))
        await settle()
        assert admitted == ["a0", "a1", "b0"] and limiter.waiting == 3
        limiter.release(APP)
        await settle()
        assert admitted[-1] == "a2"  # the next in arrival order
        for _ in range(4):
            limiter.release(APP)
        await settle()
        assert admitted == ["a0", "a1", "b0", "a2", "a3", "a4"] and limiter.waiting == 0
        assert limiter.in_flight == 1  # b0: the five of function a were released
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_the_global_cap_admits_in_priority_then_arrival_order() -> None:
    async def scenario() -> None:
        limiter = Limiter(global_limit=1)
        await limiter.acquire([])
        admitted: list[str] = []

        async def wait(name: str, keys: Keys, priority: int = 0) -> None:
            await limiter.acquire(keys, priority)
            admitted.append(name)

        tasks = [asyncio.create_task(wait("late", APP)), asyncio.create_task(wait("other", OTHER)),
                 asyncio.create_task(wait("urgent", APP, priority=600))]  # fmt: skip
        await settle()
        for expected in (["urgent"], ["urgent", "late"], ["urgent", "late", "other"]):
            limiter.release([])
            await settle()
            assert admitted == expected
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_a_cancelled_waiter_is_passed_over_and_holds_nothing() -> None:
    async def scenario() -> None:
        limiter = Limiter(global_limit=10)
        await limiter.acquire(APP)
        await limiter.acquire(APP)
        admitted: list[str] = []
        gone = asyncio.create_task(waiter(limiter, APP, admitted, "gone"))
        kept = asyncio.create_task(waiter(limiter, APP, admitted, "kept"))
        await settle()
        gone.cancel()
        await settle()
        limiter.release(APP)
        await settle()
        assert admitted == ["kept"] and limiter.in_flight == 2 and limiter.waiting == 0
        await kept

    asyncio.run(scenario())


def test_a_waiter_cancelled_as_it_is_admitted_gives_its_slot_back() -> None:
    async def scenario() -> None:
        limiter = Limiter(global_limit=1)
        await limiter.acquire([])
        task = asyncio.create_task(limiter.acquire(APP))
        await settle()
        limiter.release([])  # admits the waiter: its future has a result...
        task.cancel()  # ...but the task is cancelled before it runs again
        await settle()
        assert task.cancelled()
        assert limiter.in_flight == 0  # the slot came back
        await limiter.acquire(APP)  # and is free for the next caller

    asyncio.run(scenario())


def test_many_waiters_on_one_full_key_leave_others_admitted_at_once() -> None:
    async def scenario() -> None:
        limiter = Limiter(global_limit=100)
        admitted: list[str] = []
        tasks = [asyncio.create_task(waiter(limiter, APP, admitted, "a")) for _ in range(1000)]
        await settle()
        assert admitted.count("a") == 2 and limiter.waiting == 998
        other = asyncio.create_task(waiter(limiter, OTHER, admitted, "b"))
        await settle()
        assert admitted[-1] == "b"  # not behind the 998 waiting on function a
        for _ in range(1000):
            limiter.release(APP)
            await asyncio.sleep(0)
        await asyncio.gather(*tasks, other)
        assert admitted.count("a") == 1000 and limiter.waiting == 0

    asyncio.run(scenario())
