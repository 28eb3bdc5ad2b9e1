"""The ``incidents`` capability: incidents with a lifecycle (open → updated → resolved →
reopened), acknowledgements and silences, on the platform store. See ``lifecycle.py``."""

from __future__ import annotations

import os

from .lifecycle import Incident, Observation, Policy, Transition, advance, incident_id
from .store import IncidentNotFound, IncidentStore

RESOLVE_AFTER_ENV = "LOOPWRIGHT_INCIDENT_RESOLVE_AFTER"
REOPEN_WITHIN_ENV = "LOOPWRIGHT_INCIDENT_REOPEN_WITHIN_MINUTES"


def incident_policy() -> Policy:
    """The policy from the environment, validated (a bad value names its variable)."""
    defaults = Policy()
    resolve = _number(RESOLVE_AFTER_ENV, defaults.resolve_after)
    reopen = _number(REOPEN_WITHIN_ENV, defaults.reopen_within_s / 60)
    return Policy(resolve_after=int(resolve), reopen_within_s=reopen * 60)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: give a number") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r}: must be at least 1")
    return value


__all__ = [
    "Incident",
    "IncidentNotFound",
    "IncidentStore",
    "Observation",
    "Policy",
    "Transition",
    "advance",
    "incident_id",
    "incident_policy",
]
