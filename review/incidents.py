"""What the review learns from incidents: when each opened and resolved, and whether triage
named a cause (from the run ledger's triage outputs) — ``review.IncidentSource``."""

from __future__ import annotations

import sqlalchemy as sa

from loopwright.ledger import LedgerReader
from skills_core.capabilities.incidents import IncidentStore
from skills_core.capabilities.incidents.store import incidents

from .outcomes import IncidentOutcome

TRIAGE_SKILL = "incident-triage"


class LedgerIncidents:
    """Incidents opened in a window, with triage's verdict: a named cause, "unknown" (none
    found), or not triaged yet (None)."""

    available = True

    def __init__(self, store: IncidentStore, ledger: LedgerReader) -> None:
        self.store = store
        self.ledger = ledger

    def outcomes(self, since: float, until: float) -> list[IncidentOutcome]:
        query = sa.select(incidents).where(
            incidents.c.opened_at >= since, incidents.c.opened_at < until
        )
        rows = self.store.store.read(lambda conn: conn.execute(query).mappings().all())
        causes = self._causes(since, until)
        return [
            IncidentOutcome(
                incident_id=r["id"],
                subject=r["service"],
                opened_at=r["opened_at"],
                resolved_at=r["resolved_at"],
                cause_found=causes.get(r["id"]),
            )
            for r in rows
        ]

    def _causes(self, since: float, until: float) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for run in self.ledger.runs(
            skill=TRIAGE_SKILL, status="completed", since=since, limit=1_000
        ):
            output = run.output if isinstance(run.output, dict) else {}
            incident = output.get("incident_id")
            if isinstance(incident, str) and run.started_at < until + 86_400:
                found[incident] = found.get(incident, False) or output.get("cause") not in (
                    None,
                    "unknown",
                )
        return found
