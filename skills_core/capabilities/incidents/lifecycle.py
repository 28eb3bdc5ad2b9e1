"""An incident's life, as one pure function of what the health check saw.

    (none) ──not normal──▶ open ──new signal / severity change──▶ open (updated, revision+1)
                            │  ──normal for RESOLVE_AFTER checks──▶ resolved
    resolved ──not normal within REOPEN_WITHIN──▶ open again (reopened: it flaps)

Every check of a service is one ``Observation``; ``advance`` returns what to do about it
(open, update, resolve, reopen, or nothing) and the incident as it is afterwards. The store
applies it; the health check posts and emits what the action says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

SEVERITY = {"normal": 0, "degraded": 1, "critical": 2}
ONSET_BUCKET_S = 600  # onsets in one 10-minute bucket name the same incident


@dataclasses.dataclass(frozen=True)
class Policy:
    #: Consecutive normal checks that resolve an open incident.
    resolve_after: int = 3
    #: A resolved incident that turns bad again within this many seconds reopens (it flaps).
    reopen_within_s: float = 3_600.0


@dataclasses.dataclass(frozen=True)
class Observation:
    service: str
    label: str  # normal | degraded | critical
    signals: Sequence[str]  # the signals that breached (error_rate, p95, cpu, ...)
    reason: str
    onset: float  # the first anomalous sample
    checked_at: float


@dataclasses.dataclass(frozen=True)
class Incident:
    id: str
    service: str
    state: str  # open | resolved
    severity: str
    signals: tuple[str, ...]
    reason: str
    onset: float
    opened_at: float
    updated_at: float
    resolved_at: float | None = None
    revision: int = 1
    reopened: int = 0
    normal_streak: int = 0
    acked_by: str | None = None
    acked_at: float | None = None

    @property
    def open_minutes(self) -> float:
        end = self.resolved_at if self.resolved_at is not None else self.updated_at
        return max(0.0, (end - self.onset) / 60)


@dataclasses.dataclass(frozen=True)
class Transition:
    action: str  # opened | updated | resolved | reopened | ongoing | recovering | none
    incident: Incident | None
    #: The likely cause may differ (a new kind of signal): triage again.
    retriage: bool = False
    new_signals: tuple[str, ...] = ()
    previous_severity: str | None = None


def incident_id(service: str, onset: float) -> str:
    """Stable while the incident lasts: the service and its onset's 10-minute bucket."""
    bucket = int(onset // ONSET_BUCKET_S * ONSET_BUCKET_S)
    return f"{service}-{dt.datetime.fromtimestamp(bucket, dt.UTC):%Y%m%dT%H%MZ}"


def advance(current: Incident | None, seen: Observation, policy: Policy = Policy()) -> Transition:
    """``current``: the service's open incident, or its latest resolved one, or None."""
    bad = seen.label != "normal"
    if current is None or (current.state == "resolved" and bad and _stale(current, seen, policy)):
        return _open(seen) if bad else Transition("none", current)
    if current.state == "resolved":
        return _reopen(current, seen) if bad else Transition("none", current)
    if not bad:
        return _recover(current, seen, policy)
    return _update(current, seen)


def _stale(resolved: Incident, seen: Observation, policy: Policy) -> bool:
    return seen.checked_at - (resolved.resolved_at or 0) > policy.reopen_within_s


def _open(seen: Observation) -> Transition:
    incident = Incident(
        id=incident_id(seen.service, seen.onset),
        service=seen.service,
        state="open",
        severity=seen.label,
        signals=tuple(sorted(set(seen.signals))),
        reason=seen.reason,
        onset=seen.onset,
        opened_at=seen.checked_at,
        updated_at=seen.checked_at,
    )
    return Transition("opened", incident, new_signals=incident.signals)


def _reopen(resolved: Incident, seen: Observation) -> Transition:
    new = tuple(sorted(set(seen.signals) - set(resolved.signals)))
    incident = dataclasses.replace(
        resolved,
        state="open",
        severity=seen.label,
        resolved_at=None,
        updated_at=seen.checked_at,
        signals=tuple(sorted(set(resolved.signals) | set(seen.signals))),
        reason=seen.reason,
        revision=resolved.revision + 1,
        reopened=resolved.reopened + 1,
        normal_streak=0,
    )
    return Transition(
        "reopened",
        incident,
        retriage=bool(new),
        new_signals=new,
        previous_severity=resolved.severity,
    )


def _recover(current: Incident, seen: Observation, policy: Policy) -> Transition:
    streak = current.normal_streak + 1
    if streak < policy.resolve_after:
        incident = dataclasses.replace(current, normal_streak=streak, updated_at=seen.checked_at)
        return Transition("recovering", incident)
    incident = dataclasses.replace(
        current,
        state="resolved",
        normal_streak=streak,
        resolved_at=seen.checked_at,
        updated_at=seen.checked_at,
    )
    return Transition("resolved", incident)


def _update(current: Incident, seen: Observation) -> Transition:
    new = tuple(sorted(set(seen.signals) - set(current.signals)))
    changed = seen.label != current.severity
    if not new and not changed:
        incident = dataclasses.replace(current, normal_streak=0, updated_at=seen.checked_at)
        return Transition("ongoing", incident)
    incident = dataclasses.replace(
        current,
        severity=seen.label,
        signals=tuple(sorted(set(current.signals) | set(new))),
        reason=seen.reason,
        revision=current.revision + 1,
        normal_streak=0,
        updated_at=seen.checked_at,
    )
    return Transition(
        "updated",
        incident,
        retriage=bool(new),
        new_signals=new,
        previous_severity=current.severity if changed else None,
    )
