"""How the ledger tells a shadow run from a skill's own runs (docs/REVIEW.md "Shadow").

A shadow run (a candidate version running beside the active one, issue 8) is recorded by the
same middleware under a ledger subject of its own, ``<skill id>:shadow:<proposal id>``. Skill
ids never hold a ``:``, so no skill's scorecard, rollup, ``loopwright runs --skill`` listing or
cron-watchdog check ever counts a shadow run as the skill's; readers that list every subject
(the review's scorecards) skip the ones ``is_shadow`` names.
"""

from __future__ import annotations

MARK = ":shadow:"


def shadow_subject(skill_id: str, proposal_id: str) -> str:
    return f"{skill_id}{MARK}{proposal_id}"


def is_shadow(subject: str | None) -> bool:
    return subject is not None and MARK in subject


def shadow_of(subject: str | None) -> tuple[str, str] | None:
    """(skill id, proposal id) of a shadow subject; None for a skill's own subject."""
    if not is_shadow(subject):
        return None
    assert subject is not None
    skill_id, _, proposal_id = subject.partition(MARK)
    return skill_id, proposal_id
