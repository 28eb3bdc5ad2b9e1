"""Retention prunes only what is older than the horizon, in bounded batches."""

from __future__ import annotations

import pytest

from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.ledger.retention import Retention, retention_days
from loopwright.store import Store

NOW = 1_764_547_200.0


def seed(writer: LedgerWriter, ages_days: list[float]) -> None:
    for i, age in enumerate(ages_days):
        at = NOW - age * 86_400
        writer.record_run(RunRecord(
            run_id=f"r{i}", app_id="a", function_id="a-f", skill_id="f", skill_version=1,
            trigger="event", event_name="e", event_id=None, cron=None, status="completed",
            started_at=at, ended_at=at + 1, duration_ms=1000,
        ))  # fmt: skip


def test_only_runs_past_the_horizon_go(store: Store) -> None:
    writer = LedgerWriter(store)
    seed(writer, [1, 10, 89, 91, 100, 200])
    retention = Retention(writer, 90, batch=2, clock=lambda: NOW)
    assert retention.prune(max_batches=1) == 2  # bounded: the rest waits for the next round
    assert retention.prune() == 1
    assert sorted(r.run_id for r in LedgerReader(store).runs()) == ["r0", "r1", "r2"]


def test_retention_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPWRIGHT_LEDGER_RETENTION_DAYS", "30")
    assert retention_days() == 30
    monkeypatch.setenv("LOOPWRIGHT_LEDGER_RETENTION_DAYS", "a month")
    with pytest.raises(ValueError, match="give a number of days"):
        retention_days()
    monkeypatch.setenv("LOOPWRIGHT_LEDGER_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="more than 0"):
        retention_days()
