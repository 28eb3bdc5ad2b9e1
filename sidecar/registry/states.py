"""The lifecycle of a skill version, and the only transitions the registry allows.

    proposed ──▶ validated ──▶ active ◀──▶ retired
        │            │           ▲
        │            ▼           │ approve
        │     awaiting_approval ─┘
        │            │ reject
        ▼            ▼
    quarantined   rejected

* ``proposed``: the file was seen; validation is running.
* ``validated``: it passed; the approval policy decides next. A valid version that never went
  live (superseded by a newer write, or its sync failed) stays here and can still be activated
  by a rollback.
* ``awaiting_approval``: valid, but it asks for more than the policy lets go live unattended.
* ``active``: new runs start on it (at most one per skill). ``retired``: it was active; runs
  pinned to it still finish on its code, and a rollback may make it active again.
* ``quarantined``: it failed validation; its report says why. ``rejected``: a person said no.
  Neither can ever run.
"""

from __future__ import annotations

import enum


class VersionState(enum.StrEnum):
    PROPOSED = "proposed"
    VALIDATED = "validated"
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVE = "active"
    RETIRED = "retired"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"


_ALLOWED: dict[VersionState, frozenset[VersionState]] = {
    VersionState.PROPOSED: frozenset({VersionState.VALIDATED, VersionState.QUARANTINED}),
    VersionState.VALIDATED: frozenset({VersionState.AWAITING_APPROVAL, VersionState.ACTIVE}),
    VersionState.AWAITING_APPROVAL: frozenset({VersionState.ACTIVE, VersionState.REJECTED}),
    VersionState.ACTIVE: frozenset({VersionState.RETIRED}),
    VersionState.RETIRED: frozenset({VersionState.ACTIVE}),
    VersionState.QUARANTINED: frozenset(),
    VersionState.REJECTED: frozenset(),
}

#: States whose code may run again without a person: it was approved, or needed no approval.
ACTIVATABLE = frozenset({VersionState.VALIDATED, VersionState.RETIRED, VersionState.ACTIVE})
#: States that passed validation (their function ids count as taken).
VALID = frozenset(
    {
        VersionState.VALIDATED,
        VersionState.AWAITING_APPROVAL,
        VersionState.ACTIVE,
        VersionState.RETIRED,
    }
)


class TransitionError(ValueError):
    """A lifecycle change the state machine refuses (e.g. approving a quarantined version)."""


def check_transition(current: VersionState, target: VersionState) -> None:
    if target == current:
        return
    if target not in _ALLOWED[current]:
        raise TransitionError(f"a {current.value} version cannot become {target.value}")
