"""Ledger writes are idempotent by run id, keep rollups exact, and prune incrementally."""

from __future__ import annotations

import pytest

from loopwright.ledger import (
    AmbiguousRunId,
    CallStart,
    LedgerReader,
    LedgerWriter,
    RunNotFound,
    RunRecord,
    StepRecord,
    Usage,
)
from loopwright.store import Store

DAY = 86_400.0
T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z


def start(run_id: str, *, at: float = T0, attempt: int = 0, version: int | None = 3) -> CallStart:
    return CallStart(
        run_id=run_id, app_id="app", function_id="app-health-check", skill_id="health-check",
        skill_version=version, trigger="cron", event_name="inngest/scheduled.timer",
        event_id="ev1", cron="*/30 * * * *", attempt=attempt, at=at,
    )  # fmt: skip


def test_a_repeated_finish_counts_once(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    writer.call_started(start("r1"))
    writer.call_started(start("r1", attempt=2))  # a retry: attempts go up, nothing else
    output = {"decisions": [{"subject": "checkout", "label": "normal", "fallback": True}]}
    usage = Usage(llm_calls=2, input_tokens=100, output_tokens=20, cost_usd=0.003)
    assert writer.run_finished("r1", status="completed", at=T0 + 1.5, output=output, usage=usage)
    assert not writer.run_finished("r1", status="failed", at=T0 + 9, error="late")
    run = reader.run("r1")
    assert (run.status, run.attempts, run.duration_ms, run.fallback) == ("completed", 3, 1500, True)
    assert (run.llm_calls, run.cost_usd, run.error_message) == (2, 0.003, None)
    [rollup] = reader.rollups(since_day="2025-12-01", until_day="2025-12-01")
    assert (rollup.runs, rollup.completed, rollup.retried, rollup.fallbacks) == (1, 1, 1, 1)
    assert rollup.duration_hist == {"2000": 1} and rollup.percentile_ms(0.95) == 2000
    assert len(reader.decisions("health-check", T0, T0 + DAY)) == 1


def test_a_finish_without_a_start_still_records_the_run(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    assert not writer.run_finished("ghost", status="failed", at=T0)  # unknown, nothing to go on
    assert writer.run_finished("r2", status="cancelled", at=T0 + 5, start=start("r2", at=T0))
    assert reader.run("r2").status == "cancelled"
    with pytest.raises(RunNotFound, match="ghost"):
        reader.run("ghost")


def test_error_codes_come_from_the_message_or_the_type(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    writer.call_started(start("r3"))
    writer.run_finished("r3", status="failed", at=T0 + 1, error="[capability-denied] no slack")
    writer.call_started(start("r4"))
    writer.run_finished("r4", status="failed", at=T0 + 1, error=ZeroDivisionError("by zero"))
    assert (reader.run("r3").error_code, reader.run("r3").error_message) == (
        "capability-denied", "no slack")  # fmt: skip
    assert reader.run("r4").error_code == "ZeroDivisionError"


def test_steps_upsert_by_run_and_step_id(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    first = StepRecord("r5", "fetch", "fetch", "StepError", "retrying", 0, T0, 12.0, "E", "boom")
    writer.step_finished(first)
    writer.step_finished(StepRecord("r5", "fetch", "fetch", "StepRun", "completed", 1, T0 + 1, 8.0))
    writer.step_finished(
        StepRecord("r5", "classify", "classify", "StepRun", "completed", 1, T0 + 2, 3.0)
    )
    steps = reader.steps("r5")
    assert [(s.step_id, s.status, s.attempt) for s in steps] == [
        ("fetch", "completed", 1), ("classify", "completed", 1)]  # fmt: skip
    assert steps[0].error_message == "boom"  # why it needed a retry stays visible


def test_runs_page_newest_first_with_filters_and_prefixes(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    for i in range(5):
        run = RunRecord(
            run_id=f"01ABC{i}", app_id="app", function_id="app-x", skill_id="x" if i % 2 else "y",
            skill_version=1, trigger="event", event_name="e", event_id=None, cron=None,
            status="completed" if i < 4 else "failed", started_at=T0 + i, ended_at=T0 + i + 1,
            duration_ms=1000,
        )  # fmt: skip
        assert writer.record_run(run)
        assert not writer.record_run(run)  # idempotent
    assert [r.run_id for r in reader.runs(limit=3)] == ["01ABC4", "01ABC3", "01ABC2"]
    assert [r.run_id for r in reader.runs(limit=3, before=T0 + 2)] == ["01ABC1", "01ABC0"]
    assert [r.run_id for r in reader.runs(skill="x")] == ["01ABC3", "01ABC1"]
    assert [r.run_id for r in reader.runs(status="failed")] == ["01ABC4"]
    # skill and status together (the status test is kept off its index then)
    assert [r.run_id for r in reader.runs(skill="y", status="failed")] == ["01ABC4"]
    assert [r.run_id for r in reader.runs(skill="y", status="completed")] == ["01ABC2", "01ABC0"]
    assert reader.runs(skill="x", status="failed") == []
    assert [r.run_id for r in reader.runs(function="x")] == [f"01ABC{i}" for i in (4, 3, 2, 1, 0)]
    with pytest.raises(AmbiguousRunId, match="matches 5 runs"):
        reader.run("01AB")
    with pytest.raises(RunNotFound):
        reader.run("01A")  # too short to be a prefix
    rollups = reader.rollups(since_day="2025-12-01", until_day="2025-12-01")
    assert {(r.skill_id, r.runs, r.failed) for r in rollups} == {("x", 2, 0), ("y", 3, 1)}
    assert reader.skills_seen() == ["x", "y"]


def test_pruning_is_incremental_and_keeps_rollups(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    for i in range(7):
        writer.call_started(start(f"old{i}", at=T0 - 100 * DAY + i))
        writer.step_finished(StepRecord(f"old{i}", "s", "s", "StepRun", "completed", 0, T0, 1.0))
        writer.run_finished(f"old{i}", status="completed", at=T0 - 100 * DAY + i + 1)
    writer.call_started(start("new"))
    assert writer.prune(older_than=T0 - 90 * DAY, batch=5) == 5
    assert writer.prune(older_than=T0 - 90 * DAY, batch=5) == 2
    assert writer.prune(older_than=T0 - 90 * DAY, batch=5) == 0
    assert [r.run_id for r in reader.runs()] == ["new"]
    assert reader.steps("old0") == []
    assert sum(r.runs for r in reader.rollups(since_day="2000-01-01", until_day="2999-01-01")) == 7


def test_gaps_are_kept(store: Store) -> None:
    writer, reader = LedgerWriter(store), LedgerReader(store)
    writer.record_gap("run end", OSError("disk full"), "r9")
    [gap] = reader.gaps()
    assert (gap["run_id"], gap["what"], gap["error"]) == ("r9", "run end", "disk full")
