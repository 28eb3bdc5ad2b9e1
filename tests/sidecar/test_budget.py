"""The per-run budget ledger: CPU and wall time across calls, events per run and per minute,
with the usage in memory and in the platform store (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.store import open_store
from sidecar.run_usage_store import StoredRunUsage
from sidecar.workers import BudgetExceeded, RunBudgets, RunLimits
from sidecar.workers.run_usage import MemoryRunUsage, RunUsage, RunUsageLedger
from tests.store_dialects import DIALECTS, fresh_store_url


@pytest.fixture(params=["memory", *DIALECTS])
def ledger(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], RunUsageLedger]]:
    """Makes usage ledgers; stored ones share one store, as a restarted sidecar would."""
    if request.param == "memory":
        yield MemoryRunUsage
        return
    with fresh_store_url(request.param, tmp_path) as url:
        store = open_store(url)
        made: list[StoredRunUsage] = []

        def make() -> StoredRunUsage:
            made.append(StoredRunUsage(store))
            return made[-1]

        try:
            yield make
        finally:
            for usage in made:
                usage.close()
            store.close()


def test_cpu_and_wall_time_add_up_across_calls(ledger: Callable[[], RunUsageLedger]) -> None:
    budgets = RunBudgets(RunLimits(cpu_seconds=1.0, wall_seconds=10.0), ledger())
    budgets.check_call("run-1")
    budgets.add_call("run-1", wall_seconds=2.0, cpu_seconds=0.6)
    assert budgets.check_call("run-1") == pytest.approx(0.4)  # 0.6 s of 1 s: allowed
    assert budgets.cpu_left("run-1") == pytest.approx(0.4)
    budgets.add_call("run-1", wall_seconds=2.0, cpu_seconds=0.6)
    with pytest.raises(BudgetExceeded, match=r"1\.20s of CPU over 2 calls") as caught:
        budgets.check_call("run-1")
    assert caught.value.rule == "run-budget-cpu"
    assert "run_limits.cpu_seconds" in str(caught.value)
    budgets.check_call("run-2")  # another run has its own budget


def test_wall_time_of_calls_is_capped(ledger: Callable[[], RunUsageLedger]) -> None:
    budgets = RunBudgets(RunLimits(cpu_seconds=100.0, wall_seconds=3.0), ledger())
    for _ in range(3):
        budgets.add_call("run-1", wall_seconds=1.0, cpu_seconds=0.0)
    with pytest.raises(BudgetExceeded) as caught:
        budgets.check_call("run-1")
    assert caught.value.rule == "run-budget-wall" and "run_limits.wall_seconds" in str(caught.value)


def test_events_are_capped_per_run_and_per_skill_minute(
    ledger: Callable[[], RunUsageLedger],
) -> None:
    budgets = RunBudgets(RunLimits(max_events_per_run=3, max_events_per_minute=4), ledger())
    budgets.send_events("s", "run-1", 2)
    with pytest.raises(BudgetExceeded, match="max_events_per_run"):
        budgets.send_events("s", "run-1", 2)
    assert budgets.usage("run-1").events == 2  # a refused send counts nothing
    budgets.send_events("s", "run-2", 2)
    with pytest.raises(BudgetExceeded, match="max_events_per_minute") as caught:
        budgets.send_events("s", "run-3", 1)
    assert caught.value.rule == "runtime-event-cap"
    budgets.send_events("other", "run-4", 3)  # the rate is per skill


@pytest.mark.parametrize("dialect", DIALECTS)
def test_stored_usage_outlives_the_budgets_that_counted_it(dialect: str, tmp_path: Path) -> None:
    limits = RunLimits(cpu_seconds=1.0, max_events_per_run=3)
    with fresh_store_url(dialect, tmp_path) as url:
        first = open_store(url)
        counted = StoredRunUsage(first, flush_interval_s=3600)  # written on close only
        before = RunBudgets(limits, counted)
        before.add_call("run-1", wall_seconds=0.5, cpu_seconds=0.7)
        before.send_events("s", "run-1", 2)
        counted.close()  # the sidecar stops gracefully: what is pending is written
        first.close()

        second = open_store(url)
        kept = StoredRunUsage(second)
        after = RunBudgets(limits, kept)  # and starts again
        try:
            assert after.cpu_left("run-1") == pytest.approx(0.3)
            after.add_call("run-1", wall_seconds=0.5, cpu_seconds=0.4)
            with pytest.raises(BudgetExceeded, match="over 2 calls"):
                after.check_call("run-1")
            with pytest.raises(BudgetExceeded, match="already sent 2 events"):
                after.send_events("s", "run-1", 2)
            kept.flush()
            usage = StoredRunUsage(second)
            assert usage.prune(idle_since=time.time() - 60) == 0  # in use: kept
            assert usage.prune(idle_since=time.time() + 1) == 1
            assert usage.get("run-1").calls == 0
            usage.close()
            kept.close()
        finally:
            second.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_cap_is_enforced_from_memory_before_the_usage_is_written(
    dialect: str, tmp_path: Path
) -> None:
    with fresh_store_url(dialect, tmp_path) as url:
        store = open_store(url)
        usage = StoredRunUsage(store, flush_interval_s=3600)
        other = StoredRunUsage(store, flush_interval_s=3600)  # another replica
        try:
            budgets = RunBudgets(RunLimits(cpu_seconds=1.0), usage)
            budgets.check_call("run-1")
            budgets.add_call("run-1", wall_seconds=0.1, cpu_seconds=1.5)
            with pytest.raises(BudgetExceeded) as caught:
                budgets.check_call("run-1")
            assert caught.value.rule == "run-budget-cpu"
            assert other.get("run-1").calls == 0  # nothing written yet: refused from memory
            usage.flush()
            assert StoredRunUsage(store).get("run-1").cpu_seconds == pytest.approx(1.5)
        finally:
            usage.close()
            other.close()
            store.close()


@pytest.fixture
def usages(tmp_path: Path) -> Iterator[Callable[..., StoredRunUsage]]:
    """Makes stored usage ledgers on one SQLite store (closed, with them, after the test)."""
    store = open_store(f"sqlite:///{tmp_path / 'platform.db'}")
    made: list[StoredRunUsage] = []

    def make(**options: Any) -> StoredRunUsage:
        made.append(StoredRunUsage(store, **options))
        return made[-1]

    yield make
    for usage in made:
        usage.close()
    store.close()


def test_a_run_whose_function_ended_is_written_without_waiting(
    usages: Callable[..., StoredRunUsage],
) -> None:
    usage = usages(flush_interval_s=3600)
    budgets = RunBudgets(RunLimits(), usage)
    budgets.add_call("run-1", wall_seconds=0.2, cpu_seconds=0.1)
    budgets.add_call("run-2", wall_seconds=0.2, cpu_seconds=0.1)
    assert not usage.written(timeout=0)  # pending: the interval is an hour
    budgets.finish("run-1")
    assert usage.written(timeout=30)  # the writer did not wait for the interval
    fresh = usages()
    assert (fresh.get("run-1").calls, fresh.get("run-2").calls) == (1, 1)  # one batch


def test_calls_counted_by_another_replica_show_after_the_reread_interval(
    usages: Callable[..., StoredRunUsage],
) -> None:
    clock = Clock()
    here, there = usages(reread_after_s=1.0, clock=clock), usages()
    here.add_call("run-1", wall_seconds=1.0, cpu_seconds=0.5)
    assert here.get("run-1").calls == 1  # read from the store once, plus its own call
    there.add_call("run-1", wall_seconds=1.0, cpu_seconds=0.5)
    there.flush()
    assert here.get("run-1").calls == 1  # still what it read
    clock.now += 1.5
    assert here.get("run-1") == RunUsage(calls=2, wall_seconds=2.0, cpu_seconds=1.0)
    here.flush()  # its own call, written after the read, is not counted twice
    clock.now += 1.5
    assert here.get("run-1").calls == 2


def test_a_call_after_close_is_written_at_once(usages: Callable[..., StoredRunUsage]) -> None:
    usage = usages()
    usage.close()
    usage.add_call("run-1", wall_seconds=1.0, cpu_seconds=0.5)  # a call still in flight
    assert usages().get("run-1").calls == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"max_steps": 0}, {"max_steps": 1000}, {"cpu_seconds": 0}, {"max_events_per_run": 0}],
)
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RunLimits(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_runs_first_call_reads_no_stored_usage(
    dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_store_url(dialect, tmp_path) as url:
        store = open_store(url)
        usage = StoredRunUsage(store)
        reads: list[str] = []
        read = store.read
        monkeypatch.setattr(store, "read", lambda fn: reads.append("read") or read(fn))
        budgets = RunBudgets(RunLimits(cpu_seconds=1.0), usage)
        try:
            assert budgets.check_call("run-new", first=True) == pytest.approx(1.0)
            assert reads == []  # nothing spent anywhere yet: nothing looked up
            budgets.add_call("run-new", wall_seconds=0.1, cpu_seconds=0.3)
            # Called first again (a retried first call): what this process counted stays.
            assert budgets.check_call("run-new", first=True) == pytest.approx(0.7)
            budgets.check_call("run-later")  # any other call looks the run up
            assert reads == ["read"]
        finally:
            usage.close()
            store.close()
