"""Ground truth for a classifier's decisions: what people said, and what incidents showed.

A *truth event* says "at this time, for this subject, there was (not) an incident", with a
weight: a person's label weighs 1.0; an incident that resolved by itself within minutes while
triage found no cause is a *probable* false alarm and weighs ``PROBABLE_FALSE_ALARM_WEIGHT``.
A decision of the reviewed skill takes the truth of the closest event for its subject within
``MATCH_WINDOW_S``; a person's label always beats a derived one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .feedback import Feedback

MATCH_WINDOW_S = 3600.0
PROBABLE_FALSE_ALARM_WEIGHT = 0.5
#: An incident resolved this fast, with no cause found by triage, was probably not one.
SELF_RESOLVE_S = 15 * 60.0
ALERT = "alert"


@dataclasses.dataclass(frozen=True)
class IncidentOutcome:
    """What the incidents lifecycle knows of one incident (its owner implements the source)."""

    incident_id: str
    subject: str
    opened_at: float
    resolved_at: float | None
    #: Whether triage named a cause; None while triage has not finished.
    cause_found: bool | None


class IncidentSource(Protocol):
    """Implemented by the incidents lifecycle; the review only reads it."""

    def outcomes(self, since: float, until: float) -> list[IncidentOutcome]: ...


class NoIncidents:
    """Until the incidents lifecycle exists: no derived signals (the report says so)."""

    available = False

    def outcomes(self, since: float, until: float) -> list[IncidentOutcome]:
        return []


@dataclasses.dataclass(frozen=True)
class TruthEvent:
    key: str  # the message or incident it came from: one incident, one key
    subject: str
    at: float
    incident: bool
    weight: float
    source: str  # "person" | "derived"


def events_from_feedback(items: Iterable[Feedback]) -> list[TruthEvent]:
    out = []
    for item in items:
        for d in item.decisions:
            out.append(
                TruthEvent(
                    key=item.message_id,
                    subject=str(d["subject"]),
                    at=float(d["at"]),
                    incident=item.label in ("useful", "missed"),
                    weight=1.0,
                    source="person",
                )
            )
    return out


def events_from_incidents(items: Iterable[IncidentOutcome]) -> list[TruthEvent]:
    out = []
    for i in items:
        quick = i.resolved_at is not None and i.resolved_at - i.opened_at <= SELF_RESOLVE_S
        if quick and i.cause_found is False:
            out.append(
                TruthEvent(
                    i.incident_id,
                    i.subject,
                    i.opened_at,
                    False,
                    PROBABLE_FALSE_ALARM_WEIGHT,
                    "derived",
                )
            )
    return out


@dataclasses.dataclass(frozen=True)
class Truth:
    incident: bool
    weight: float
    key: str


def match(decisions: Sequence[Any], events: Sequence[TruthEvent]) -> list[Truth | None]:
    """For each decision (``subject``, ``at``), the truth that applies to it, if any."""
    by_subject: dict[str, list[TruthEvent]] = {}
    for e in events:
        by_subject.setdefault(e.subject, []).append(e)
    out: list[Truth | None] = []
    for d in decisions:
        best: tuple[float, float, TruthEvent] | None = None
        for e in by_subject.get(d.subject or "", ()):
            gap = abs(e.at - d.at)
            if gap > MATCH_WINDOW_S:
                continue
            rank = (0.0 if e.source == "person" else 1.0, gap, e)
            if best is None or rank[:2] < best[:2]:
                best = rank
        out.append(None if best is None else Truth(best[2].incident, best[2].weight, best[2].key))
    return out


def flaps(decisions: Sequence[Any]) -> int:
    """Label changes back and forth: A → B → A for one subject on consecutive decisions."""
    seen: dict[str, list[bool]] = {}
    count = 0
    for d in sorted(decisions, key=lambda d: d.at):
        history = seen.setdefault(d.subject or "", [])
        history.append((d.label or "normal") != "normal")
        if len(history) >= 3 and history[-1] == history[-3] != history[-2]:
            count += 1
    return count
