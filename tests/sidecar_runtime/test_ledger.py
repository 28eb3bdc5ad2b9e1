"""The run ledger, written by the sidecar's SDK middleware: one record per run with its steps,
skill version, attempts, errors and decision records; runs that end without a call reaching
the sidecar (cancelled) are closed from Inngest's own events; a restart mid-run still leaves
exactly one record."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.ledger import LedgerReader, RunRecord
from loopwright.store import open_store
from sidecar.capabilities import FakeCapabilityProvider, Inbox
from sidecar.server import running

from ._harness import Harness, poll, skill_source
from .conftest import settings_for


def reader_of(harness: Harness) -> LedgerReader:
    return LedgerReader(open_store(harness.sidecar.settings.store))


def finished(reader: LedgerReader, run_id: str) -> RunRecord:
    def probe() -> RunRecord | None:
        runs = [r for r in reader.runs(limit=200) if r.run_id == run_id]
        return runs[0] if runs and runs[0].status != "running" else None

    return poll(probe, what=f"ledger record of {run_id} to finish")


def test_a_run_is_recorded_with_its_steps_version_and_decisions(harness: Harness) -> None:
    body = """
    total = 0
    for n in [2, 3]:
        total += ctx.step.run("measure", lambda: n)
    return {"sum": total, "decisions": [
        {"subject": "checkout", "label": "degraded", "decided_by": "rules", "fallback": True,
         "features": {"error_rate": {"now": 0.03, "baseline": 0.01}}}]}
    """
    assert harness.submit("lg-steps", skill_source("lg-steps", body))["state"] == "active"
    run = harness.trigger("test/lg-steps")
    reader = reader_of(harness)
    record = finished(reader, run["run_id"])
    assert record.status == "completed"
    assert (record.skill_id, record.skill_version) == ("lg-steps", 1)
    assert record.trigger == "event" and record.event_name == "test/lg-steps"
    assert record.output["sum"] == 5 and record.fallback is True
    assert record.duration_ms is not None and record.duration_ms > 0
    steps = reader.steps(run["run_id"])
    assert [(s.step_id, s.status) for s in steps] == [
        ("measure", "completed"),
        ("measure:1", "completed"),
    ]
    decisions = reader.decisions("lg-steps", 0, 2e9)
    assert [(d.subject, d.label, d.fallback) for d in decisions] == [("checkout", "degraded", True)]
    day = reader.rollups(since_day="2000-01-01", until_day="2999-01-01", skill="lg-steps")
    assert [(r.skill_version, r.runs, r.completed, r.fallbacks) for r in day] == [(1, 1, 1, 1)]
    assert reader.run(run["run_id"][:12]).run_id == run["run_id"]  # a unique prefix finds it


def test_retries_and_a_final_failure_are_one_record(harness: Harness) -> None:
    body = """
    divisor = 0 if ctx.event.data.get("fail") else 1
    return ctx.step.run("flaky", lambda: 1 / divisor)
    """
    harness.submit("lg-fails", skill_source("lg-fails", body, options="retries=1"))
    run = harness.trigger("test/lg-fails", {"fail": True})
    assert run["status"] == "Failed"
    reader = reader_of(harness)
    record = finished(reader, run["run_id"])
    assert record.status == "failed" and record.attempts == 2
    assert record.error_message and "division" in record.error_message
    flaky = [s for s in reader.steps(run["run_id"]) if s.name == "flaky"]
    assert len(flaky) == 1 and flaky[0].status == "failed" and flaky[0].attempt == 1
    day = reader.rollups(since_day="2000-01-01", until_day="2999-01-01", skill="lg-fails")
    assert sum(r.runs for r in day) == 1 and sum(r.failed for r in day) == 1
    assert sum(r.retried for r in day) == 1


def test_a_cancelled_run_is_closed_from_the_engines_event(harness: Harness) -> None:
    body = """
    ctx.step.sleep("nap", 60_000)
    return "woke"
    """
    harness.submit("lg-cancel", skill_source("lg-cancel", body))
    run = harness.run_of(harness.send("test/lg-cancel"))
    reader = reader_of(harness)
    poll(lambda: any(r.run_id == run["run_id"] for r in reader.runs(skill="lg-cancel")),
         what="the run to start")  # fmt: skip
    assert harness.engine.delete(f"/v1/runs/{run['run_id']}").status_code < 300
    record = finished(reader, run["run_id"])
    assert record.status == "cancelled"


def test_a_sidecar_restart_mid_run_leaves_exactly_one_record(
    engine_url: str, tmp_path: Path
) -> None:
    body = """
    ctx.step.run("before", lambda: 1)
    ctx.step.sleep("nap", 1500)
    return ctx.step.run("after", lambda: "done")
    """
    settings = settings_for(tmp_path, engine_url, "lw-ledger-restart")
    inbox = Inbox(settings.inbox)
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        first = Harness(sidecar, engine_url, inbox)
        first.submit("lg-restart", skill_source("lg-restart", body))
        run = first.run_of(first.send("test/lg-restart"))
        poll(lambda: any(s["name"] == "nap" for s in first.steps(run["run_id"])),
             what="the run to sleep")  # fmt: skip
        first.close()
        stopped = sidecar
    assert stopped.ledger.writer.queue.closed  # its shutdown flushed and closed the ledger writer
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        again = Harness(sidecar, engine_url, inbox)
        assert again.wait_run(run["run_id"])["status"] == "Completed"
        reader = reader_of(again)
        record = finished(reader, run["run_id"])
        assert record.status == "completed" and record.output == "done"
        assert [r.run_id for r in reader.runs(skill="lg-restart")] == [run["run_id"]]
        assert [s.name for s in reader.steps(run["run_id"])] == ["before", "after"]
        again.close()


def test_a_failing_ledger_never_fails_the_run_and_the_gap_is_kept(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.submit("lg-gap", skill_source("lg-gap", 'return ctx.step.run("work", lambda: 7)'))
    writer = harness.sidecar.ledger.writer

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(writer, "step_finished", disk_full)
        patched.setattr(writer, "run_finished", disk_full)
        run = harness.trigger("test/lg-gap")
    assert run["status"] == "Completed" and run["output"] == 7
    assert harness.sidecar.ledger.failed_writes >= 2
    harness.trigger("test/lg-gap")  # the next good write flushes the gaps into the store
    gaps = poll(lambda: [g for g in reader_of(harness).gaps() if g["run_id"] == run["run_id"]],
                what="the gaps to be recorded")  # fmt: skip
    assert {g["what"] for g in gaps} == {"step", "run end"}
    assert all("disk is full" in g["error"] for g in gaps)
