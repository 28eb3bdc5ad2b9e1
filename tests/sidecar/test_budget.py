"""The per-run budget ledger: CPU and wall time across calls, events per run and per minute."""

from __future__ import annotations

import pytest

from sidecar.workers import BudgetExceeded, RunBudgets, RunLimits


def test_cpu_and_wall_time_add_up_across_calls() -> None:
    budgets = RunBudgets(RunLimits(cpu_seconds=1.0, wall_seconds=10.0))
    budgets.check_call("run-1")
    budgets.add_call("run-1", wall_seconds=2.0, cpu_seconds=0.6)
    budgets.check_call("run-1")  # 0.6 s of 1 s: still allowed
    assert budgets.cpu_left("run-1") == pytest.approx(0.4)
    budgets.add_call("run-1", wall_seconds=2.0, cpu_seconds=0.6)
    with pytest.raises(BudgetExceeded, match=r"1\.20s of CPU over 2 calls") as caught:
        budgets.check_call("run-1")
    assert caught.value.rule == "run-budget-cpu"
    assert "run_limits.cpu_seconds" in str(caught.value)
    budgets.check_call("run-2")  # another run has its own budget


def test_wall_time_of_calls_is_capped() -> None:
    budgets = RunBudgets(RunLimits(cpu_seconds=100.0, wall_seconds=3.0))
    for _ in range(3):
        budgets.add_call("run-1", wall_seconds=1.0, cpu_seconds=0.0)
    with pytest.raises(BudgetExceeded) as caught:
        budgets.check_call("run-1")
    assert caught.value.rule == "run-budget-wall" and "run_limits.wall_seconds" in str(caught.value)


def test_events_are_capped_per_run_and_per_skill_minute() -> None:
    budgets = RunBudgets(RunLimits(max_events_per_run=3, max_events_per_minute=4))
    budgets.send_events("s", "run-1", 2)
    with pytest.raises(BudgetExceeded, match="max_events_per_run"):
        budgets.send_events("s", "run-1", 2)
    assert budgets.usage("run-1").events == 2  # a refused send counts nothing
    budgets.send_events("s", "run-2", 2)
    with pytest.raises(BudgetExceeded, match="max_events_per_minute") as caught:
        budgets.send_events("s", "run-3", 1)
    assert caught.value.rule == "runtime-event-cap"
    budgets.send_events("other", "run-4", 3)  # the rate is per skill


@pytest.mark.parametrize(
    "kwargs",
    [{"max_steps": 0}, {"max_steps": 1000}, {"cpu_seconds": 0}, {"max_events_per_run": 0}],
)
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RunLimits(**kwargs)  # type: ignore[arg-type]
