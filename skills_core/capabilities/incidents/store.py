"""Incidents and silences on the platform store, and the one write that moves an incident.

``observe`` is idempotent per (service, check time): a health-check step that runs again
after a crash gets the answer it got the first time, so nothing is posted or emitted twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store, metadata, upsert

from .lifecycle import Incident, Observation, Policy, Transition, advance

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("service", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("onset", sa.Float, nullable=False),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("reopened", sa.Integer, nullable=False),
    sa.Column("normal_streak", sa.Integer, nullable=False),
    sa.Column("acked_by", sa.String(200)),
    sa.Column("acked_at", sa.Float),
    sa.Index("incidents_service_updated", "service", "updated_at"),
)

checks = sa.Table(
    "incident_checks",
    metadata,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("checked_at", sa.Float, nullable=False),
    sa.Column("answer", sa.JSON, nullable=False),
)

silences = sa.Table(
    "incident_silences",
    metadata,
    sa.Column("service", sa.String(200), primary_key=True),
    sa.Column("until", sa.Float, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident {incident_id!r} (list them with `loopwright incidents`)")


def _row(incident: Incident) -> dict[str, Any]:
    row = dataclasses.asdict(incident)
    row["signals"] = list(incident.signals)
    return row


def _incident(row: Any) -> Incident:
    values = dict(row)
    values["signals"] = tuple(values["signals"] or ())
    return Incident(**values)


class IncidentStore:
    def __init__(
        self, store: Store, policy: Policy | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.policy = policy or Policy()
        self.clock = clock
        store.ensure()

    def observe(self, seen: Observation) -> dict[str, Any]:
        """Advance the service's incident by one check; the answer the health check acts on."""

        def write(conn: sa.Connection) -> dict[str, Any]:
            last = (
                conn.execute(sa.select(checks).where(checks.c.service == seen.service))
                .mappings()
                .first()
            )
            if last is not None and last["checked_at"] >= seen.checked_at:
                answer: dict[str, Any] = dict(last["answer"])
                return {**answer, "replayed": True}
            current = _latest(conn, seen.service)
            moved = advance(current, seen, self.policy)
            if moved.incident is not None and moved.incident != current:
                upsert(
                    conn,
                    incidents,
                    _row(moved.incident),
                    ["id"],
                    replace=[c for c in _row(moved.incident) if c != "id"],
                )
            answer = _answer(moved, self._silenced(conn, seen.service, seen.checked_at))
            upsert(
                conn,
                checks,
                {"service": seen.service, "checked_at": seen.checked_at, "answer": answer},
                ["service"],
                replace=["checked_at", "answer"],
            )
            return answer

        return self.store.write(write)

    def _silenced(self, conn: sa.Connection, service: str, at: float) -> bool:
        until = conn.execute(
            sa.select(silences.c.until).where(silences.c.service == service)
        ).scalar()
        return until is not None and until > at

    # --- what people do ------------------------------------------------------------------

    def recent(self, *, open_only: bool = False, limit: int = 50) -> list[Incident]:
        query = sa.select(incidents).order_by(incidents.c.updated_at.desc()).limit(limit)
        if open_only:
            query = query.where(incidents.c.state == "open")
        rows = self.store.read(lambda conn: conn.execute(query).mappings().all())
        return [_incident(r) for r in rows]

    def get(self, incident_id: str) -> Incident:
        query = sa.select(incidents).where(incidents.c.id == incident_id)
        row = self.store.read(lambda conn: conn.execute(query).mappings().first())
        if row is None:
            raise IncidentNotFound(incident_id)
        return _incident(row)

    def ack(self, incident_id: str, by: str) -> Incident:
        self.get(incident_id)
        now = self.clock()
        self.store.write(
            lambda conn: conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id)
                .values(acked_by=by, acked_at=now)
            )
        )
        return self.get(incident_id)

    def silence(self, service: str, *, seconds: float, by: str, reason: str = "") -> float:
        now = self.clock()
        until = now + seconds
        row = {"service": service, "until": until, "by": by, "reason": reason, "created_at": now}
        self.store.write(
            lambda conn: upsert(
                conn, silences, row, ["service"], replace=["until", "by", "reason", "created_at"]
            )
        )
        return until

    def unsilence(self, service: str) -> bool:
        return bool(
            self.store.write(
                lambda conn: (
                    conn.execute(silences.delete().where(silences.c.service == service)).rowcount
                )
            )
        )

    def silences(self) -> list[dict[str, Any]]:
        """Silences still in force (expired ones are not shown)."""
        query = (
            sa.select(silences).where(silences.c.until > self.clock()).order_by(silences.c.until)
        )
        return [dict(r) for r in self.store.read(lambda c: c.execute(query).mappings().all())]


def _latest(conn: sa.Connection, service: str) -> Incident | None:
    """The service's open incident, else its most recently resolved one."""
    query = (
        sa.select(incidents)
        .where(incidents.c.service == service)
        .order_by((incidents.c.state == "open").desc(), incidents.c.updated_at.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _incident(row)


def _answer(moved: Transition, silenced: bool) -> dict[str, Any]:
    incident = moved.incident
    return {
        "action": moved.action,
        "silenced": silenced,
        "retriage": moved.retriage,
        "new_signals": list(moved.new_signals),
        "previous_severity": moved.previous_severity,
        "incident": None
        if incident is None
        else {
            "id": incident.id,
            "state": incident.state,
            "severity": incident.severity,
            "signals": list(incident.signals),
            "onset": incident.onset,
            "revision": incident.revision,
            "reopened": incident.reopened,
            "open_minutes": round(incident.open_minutes, 1),
        },
    }
