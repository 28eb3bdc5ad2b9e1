"""The ledger's background writer: step records queue and commit in groups; a run's final write
commits after its steps; a full queue blocks instead of dropping; a bad write becomes a gap
without taking its batch down; close commits everything; a crash loses only queued rows of
unfinished runs, and a re-reported step repairs its row."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from loopwright.ledger import CallStart, LedgerReader, StepRecord
from loopwright.ledger.middleware import LedgerRecorder
from loopwright.ledger.queued_writer import QueuedLedgerWriter
from loopwright.store import Store

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_764_547_200.0
#: Long enough that queued step rows stay queued unless something waits for them.
HOLD = {"linger_s": 600.0}


def start(run_id: str) -> CallStart:
    return CallStart(
        run_id=run_id, app_id="app", function_id="app-x", skill_id="x", skill_version=1,
        trigger="event", event_name="e", event_id=None, cron=None, attempt=0, at=T0,
    )  # fmt: skip


def step(run_id: str, n: int, name: str | None = None) -> StepRecord:
    step_id = name if name is not None else f"s{n}"
    return StepRecord(run_id, step_id, step_id, "StepRun", "completed", 0, T0 + n, 1.0)


def no_failure(what: str, run_id: str | None, err: BaseException) -> None:
    raise AssertionError(f"unexpected ledger failure: {what} {run_id}: {err}")


def test_finishing_a_run_commits_its_queued_steps_first(store: Store) -> None:
    writer, reader = QueuedLedgerWriter(store, no_failure, **HOLD), LedgerReader(store)
    try:
        writer.call_started(start("r1"))
        for n in range(3):
            writer.step_finished(step("r1", n))
        assert reader.steps("r1") == []  # still queued: nobody waits for step rows
        assert writer.run_finished("r1", status="completed", at=T0 + 5)
        assert reader.run("r1").status == "completed"  # the moment the finish returns ...
        assert [s.step_id for s in reader.steps("r1")] == ["s0", "s1", "s2"]  # ... all steps
        assert not writer.run_finished("r1", status="failed", at=T0 + 9)  # still once
    finally:
        writer.close()
    [rollup] = reader.rollups(since_day="2025-12-01", until_day="2025-12-01")
    assert rollup.runs == 1


def test_an_idle_writer_lets_the_finishing_caller_commit_in_its_own_thread(store: Store) -> None:
    """No hand-off to the writer thread and back on a run's path when nothing is committing;
    the queued rows go in the same transaction, before the final write."""
    writer = QueuedLedgerWriter(store, no_failure, **HOLD)
    seen: list[str] = []

    def final(conn: object) -> str:
        seen.append(threading.current_thread().name)
        return "done"

    try:
        writer.call_started(start("r1"))
        for n in range(3):
            writer.step_finished(step("r1", n))
        batches = writer.queue.batches
        assert writer.queue.call("final", "r1", final) == "done"
        assert seen == [threading.current_thread().name]
        assert writer.queue.batches == batches + 1  # one transaction with the steps
        assert [s.step_id for s in LedgerReader(store).steps("r1")] == ["s0", "s1", "s2"]
        assert writer.queue.pending == 0
    finally:
        writer.close()


def test_a_full_queue_blocks_the_caller_and_loses_nothing(store: Store) -> None:
    writer = QueuedLedgerWriter(store, no_failure, capacity=2, max_batch=1, linger_s=0.0)
    reader = LedgerReader(store)
    entered, release = threading.Event(), threading.Event()

    def hold_the_store() -> None:
        def wait(_conn: object) -> None:
            entered.set()
            release.wait()

        store.write(wait)  # the writer thread cannot commit while this holds the store

    holder = threading.Thread(target=hold_the_store)
    holder.start()
    entered.wait()
    # The writer takes one row and waits for the store; two fill the queue; the fourth blocks.
    producer = threading.Thread(
        target=lambda: [writer.step_finished(step("bp", n)) for n in range(6)]
    )
    producer.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        writer.queue.backpressure_waits and writer.queue.pending == 2
    ):
        time.sleep(0.01)
    try:
        assert writer.queue.backpressure_waits >= 1 and writer.queue.pending == 2
        assert producer.is_alive()  # blocked, not dropping
        assert reader.steps("bp") == []
    finally:
        release.set()
        holder.join()
        producer.join()
        writer.close()
    assert [s.step_id for s in reader.steps("bp")] == [f"s{n}" for n in range(6)]


def test_a_failing_write_becomes_a_gap_and_its_batch_still_commits(store: Store) -> None:
    recorder = LedgerRecorder(store, app_id="app", queue=HOLD)
    reader = LedgerReader(store)
    try:
        recorder.writer.step_finished(step("g1", 0))
        # A row the store refuses (a step without a name breaks NOT NULL), in the same batch.
        recorder.writer.step_finished(
            StepRecord("g1", "bad", None, "StepRun", "completed", 0, T0, 1.0)
        )  # type: ignore[arg-type]
        recorder.writer.step_finished(step("g1", 2))
        recorder.flush()
        assert [s.step_id for s in reader.steps("g1")] == ["s0", "s2"]
        assert recorder.failed_writes == 1
        [gap] = reader.gaps()
        assert (gap["run_id"], gap["what"]) == ("g1", "step")
        assert "null" in gap["error"].lower()
    finally:
        recorder.close()


def test_close_commits_everything_queued_and_later_writes_still_land(store: Store) -> None:
    recorder = LedgerRecorder(store, app_id="app", queue=HOLD)
    reader = LedgerReader(store)
    recorder.writer.call_started(start("c1"))
    for n in range(4):
        recorder.writer.step_finished(step("c1", n))
    assert reader.steps("c1") == []
    recorder.close()
    assert len(reader.steps("c1")) == 4 and reader.run("c1").status == "running"
    recorder.writer.step_finished(step("c1", 4))  # after close: written in the caller's thread
    assert recorder.writer.run_finished("c1", status="completed", at=T0 + 9)
    assert len(reader.steps("c1")) == 5 and reader.run("c1").status == "completed"


CRASH = """
import os, sys
sys.path.insert(0, {root!r})
from loopwright.store import open_store
from loopwright.ledger.queued_writer import QueuedLedgerWriter
from tests.ledger.test_group_commit import HOLD, start, step, no_failure

writer = QueuedLedgerWriter(open_store({url!r}), no_failure, **HOLD)
writer.call_started(start("done"))
writer.step_finished(step("done", 0))
writer.step_finished(step("done", 1))
assert writer.run_finished("done", status="completed", at=1764547300.0)
writer.call_started(start("open"))
writer.step_finished(step("open", 0))
writer.step_finished(step("open", 1))
os._exit(9)  # a crash: no flush, no close
"""


def test_a_crash_loses_only_queued_rows_of_unfinished_runs(store: Store) -> None:
    script = CRASH.format(root=str(ROOT), url=store.url)
    crashed = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert crashed.returncode == 9, crashed.stderr
    reader = LedgerReader(store)
    assert reader.run("done").status == "completed"
    assert [s.step_id for s in reader.steps("done")] == ["s0", "s1"]  # a finished run is whole
    assert [r.run_id for r in reader.runs()] == ["done"]  # the open run's queued rows are gone
    # After the restart the engine retries the call in flight (step s1 here): it re-reports
    # its step and the run finishes; s0's call had returned before the crash, so its row is
    # the one thing lost for good.
    writer = QueuedLedgerWriter(store, no_failure)
    try:
        writer.step_finished(step("open", 1))
        assert writer.run_finished("open", status="completed", at=T0 + 9, start=start("open"))
    finally:
        writer.close()
    assert sorted(r.run_id for r in reader.runs()) == ["done", "open"]  # one record each
    assert [s.step_id for s in reader.steps("open")] == ["s1"]
    assert reader.run("open").status == "completed"
