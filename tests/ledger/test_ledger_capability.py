"""The read-only ``ledger`` capability: the view over a real store, the gate's grant, the
sidecar backend's rule that only core skills may read every skill, and clear bad-input errors."""

from __future__ import annotations

import datetime

import pydantic
import pytest

from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.store import Store
from sidecar.capabilities.ledger import PlatformLedger
from sidecar.facade import errors as facade_errors
from sidecar.facade.capabilities import CapabilityBackends, build_capabilities
from sidecar.facade.fakes import FakeCapabilities
from sidecar.facade.grants import CapabilityGrants, LedgerGrant
from sidecar.facade.scope import inside_step
from skills_core.capabilities.ledger import CronSchedule, LedgerView, WindowError
from skills_core.capabilities.ledger.schedule import expected_fires, interval_s
from skills_core.capabilities.ledger.view import MAX_RUNS

T = datetime.datetime(2026, 11, 2, 6, 0, tzinfo=datetime.UTC).timestamp()  # a Monday
SCHEDULES = [
    CronSchedule("heartbeat", "heartbeat", "*/5 * * * *", False, T - 3600),
    CronSchedule("weekly", "weekly", "TZ=Europe/Paris 0 6 * * 1", True, T - 30 * 86_400),
]


def record(n: int, status: str = "completed", skill: str = "heartbeat") -> RunRecord:
    return RunRecord(
        run_id=f"{skill}-{n}",
        app_id="loopwright-skills",
        function_id=f"loopwright-skills-{skill}",
        skill_id=skill,
        skill_version=1,
        trigger="cron",
        event_name=None,
        event_id=None,
        cron="*/5 * * * *",
        status=status,
        started_at=T + n * 300 + 2,
        ended_at=T + n * 300 + 3,
        error_message="x" * 1000 if status == "failed" else None,
        output={"secret": "what the skill saw"},
    )


def view(store: Store) -> LedgerView:
    return LedgerView(
        lambda skill: [s for s in SCHEDULES if skill in (None, s.skill_id)], LedgerReader(store)
    )


def test_schedules_say_state_time_zone_and_interval(store: Store) -> None:
    found = {s["skill_id"]: s for s in view(store).cron_skills()}
    assert found["heartbeat"]["state"] == "active" and found["heartbeat"]["interval_seconds"] == 300
    weekly = found["weekly"]
    assert (weekly["state"], weekly["timezone"], weekly["cron"]) == (
        "paused",
        "Europe/Paris",
        "0 6 * * 1",
    )
    assert weekly["interval_seconds"] == 7 * 86_400


def test_fires_follow_the_schedule_its_time_zone_and_its_start(store: Store) -> None:
    ledger = view(store)
    assert ledger.fires("heartbeat", T - 7200, T + 600) == [
        T - 3600 + n * 300 for n in range(1, 15)
    ]  # none before the skill went live at T - 3600
    # 06:00 in Paris is 05:00 UTC in November
    assert ledger.fires("weekly", T - 86_400, T + 7 * 86_400) == [T - 3600, T + 7 * 86_400 - 3600]
    assert expected_fires("TZ=Europe/Paris 0 6 * * 1", T - 86_400, T) == [T - 3600]
    assert interval_s("0 0 1 1 *", T) == 86_400  # rarer than 40 days: a day


def test_runs_are_start_times_and_statuses_bounded_and_nothing_else(store: Store) -> None:
    writer = LedgerWriter(store)
    for n in range(MAX_RUNS + 3):
        writer.record_run(record(n, "failed" if n == 1 else "completed"))
    ledger = view(store)
    answer = ledger.runs("heartbeat", T, T + 900)
    assert [r["run_id"] for r in answer["runs"]] == ["heartbeat-2", "heartbeat-1", "heartbeat-0"]
    assert answer["more"] is False
    failed = answer["runs"][1]
    assert set(failed) == {
        "run_id", "function_id", "trigger", "status", "started_at", "ended_at", "error"
    }  # fmt: skip
    assert failed["status"] == "failed" and len(failed["error"]) == 200  # no outputs, short errors
    wide = ledger.runs("heartbeat", T, T + 30 * 86_400)
    assert len(wide["runs"]) == MAX_RUNS and wide["more"] is True


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v: v.runs("heartbeat", T, T - 1), "must be before until"),
        (lambda v: v.runs("heartbeat", T, T + 40 * 86_400), "at most 31 days"),
        (lambda v: v.runs("heartbeat", "yesterday", T), "since must be a Unix time"),
        (lambda v: v.runs("heartbeat", T, T + 1, limit=0), "limit must be an integer from 1"),
        (lambda v: v.fires("nope", T, T + 1), "'nope' has no cron schedule; cron skills are"),
        (lambda v: v.fires("heartbeat", T, T + 86_400 * 5), "fires more than 1000 times"),
    ],
)
def test_bad_arguments_say_what_is_wrong(store: Store, call: object, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        call(view(store))  # type: ignore[operator]


def gate(skills: list[str], fixtures: dict[str, object] | None = None) -> object:
    grants = CapabilityGrants(ledger=LedgerGrant(skills=skills))
    backends = CapabilityBackends(ledger=FakeCapabilities(fixtures or {}).backends().ledger)
    return build_capabilities(grants, backends, lambda call: None).ledger


def test_the_gate_reads_only_granted_skills() -> None:
    listed = {
        "ledger.cron_skills": [{"skill_id": "heartbeat"}, {"skill_id": "billing-sync"}],
    }
    ledger = gate(["heartbeat"], listed)
    with inside_step("run-1", "read"):
        assert ledger.cron_skills() == [{"skill_id": "heartbeat"}]  # type: ignore[attr-defined]
        assert ledger.runs("heartbeat", since=T, until=T + 1) == {"runs": [], "more": False}  # type: ignore[attr-defined]
        with pytest.raises(facade_errors.CapabilityDenied, match="'billing-sync' is not granted"):
            ledger.runs("billing-sync", since=T, until=T + 1)  # type: ignore[attr-defined]
    every = gate(["*"], listed)
    with inside_step("run-1", "read"):
        assert len(every.cron_skills()) == 2  # type: ignore[attr-defined]


def test_a_grant_names_skills_or_a_star() -> None:
    with pytest.raises(pydantic.ValidationError):
        LedgerGrant(skills=[])
    with pytest.raises(pydantic.ValidationError):
        LedgerGrant(skills=["Bad Name"])


def test_only_a_core_skill_may_read_every_skill(store: Store) -> None:
    LedgerWriter(store).record_run(record(0))
    star = LedgerGrant(skills=["*"])
    generated = PlatformLedger(view(store), "snoop", star, core=False)
    with pytest.raises(facade_errors.CapabilityDenied, match="only core skills"):
        generated.cron_skills()
    with pytest.raises(facade_errors.CapabilityDenied, match="only core skills"):
        generated.runs("heartbeat", since=T, until=T + 900, function=None, limit=10)
    named = PlatformLedger(view(store), "snoop", LedgerGrant(skills=["weekly"]), core=False)
    assert [s["skill_id"] for s in named.cron_skills()] == ["weekly"]  # type: ignore[union-attr]
    with pytest.raises(facade_errors.CapabilityDenied, match="not granted to snoop"):
        named.runs("heartbeat", since=T, until=T + 900, function=None, limit=10)
    core = PlatformLedger(view(store), "cron-watchdog", star, core=True)
    answer = core.runs("heartbeat", since=T, until=T + 900, function=None, limit=10)
    assert [r["run_id"] for r in answer["runs"]] == ["heartbeat-0"]  # type: ignore[index]
    with pytest.raises(facade_errors.CapabilityRefused, match="ledger: since"):
        core.fires("heartbeat", since=T, until=T - 5, function=None)
