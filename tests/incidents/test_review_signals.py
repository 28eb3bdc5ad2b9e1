"""The review's derived signals come from real incidents: one that resolved by itself within
minutes while triage named no cause is a probable false alarm; one with a cause is not."""

from __future__ import annotations

from pathlib import Path

from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.store import open_store
from review.incidents import LedgerIncidents
from review.outcomes import events_from_incidents
from skills_core.capabilities.incidents import IncidentStore, Observation, Policy

T0 = 1_764_547_200.0


def triage_run(run_id: str, incident_id: str, cause: str, at: float) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        app_id="a",
        function_id="a-incident-triage",
        skill_id="incident-triage",
        skill_version=1,
        trigger="event",
        event_name="health/incident.opened",
        event_id=None,
        cron=None,
        status="completed",
        started_at=at,
        ended_at=at + 5,
        duration_ms=5000,
        output={"incident_id": incident_id, "cause": cause},
    )


def test_quick_causeless_incidents_are_probable_false_alarms(tmp_path: Path) -> None:
    store = open_store(tmp_path / "platform.db")
    incidents = IncidentStore(store, Policy(resolve_after=1))
    for service, start in (("checkout", T0), ("search", T0 + 7200)):
        incidents.observe(Observation(service, "degraded", ("p95",), "slow", start, start))
        incidents.observe(Observation(service, "normal", (), "", start, start + 120))
    ids = {i.service: i.id for i in incidents.recent()}
    writer = LedgerWriter(store)
    writer.record_run(triage_run("t1", ids["checkout"], "unknown", T0 + 10))
    writer.record_run(triage_run("t2", ids["search"], "deploy", T0 + 7210))
    found = LedgerIncidents(incidents, LedgerReader(store)).outcomes(T0 - 1, T0 + 86_400)
    by_subject = {o.subject: o for o in found}
    assert by_subject["checkout"].cause_found is False
    assert by_subject["search"].cause_found is True
    assert by_subject["checkout"].resolved_at == T0 + 120
    derived = events_from_incidents(found)
    assert [(e.subject, e.incident, e.source) for e in derived] == [("checkout", False, "derived")]
