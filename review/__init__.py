"""The weekly review loop: outcome labels, scorecards, selection, tuning and the gate.

The public API the console and the CLI use (docs/REVIEW.md):

* ``record_feedback`` / ``labels`` — outcome labels on what skills posted.
* ``scorecards`` — per skill and version over a window, from the ledger's rollups.
* ``Review`` — one review run (``Review(store, ledger, platform).run(now)``).
* ``reports`` / ``report`` / ``proposals`` — what past reviews found and proposed.
* ``feedback_router`` — a FastAPI router (``POST /v1/feedback``, review reads) to mount.
"""

from __future__ import annotations

from .errors import (
    ReviewError,
    UnknownLabel,
    UnknownMessage,
    UnknownProposal,
    UnknownReport,
    UnknownSkill,
)
from .feedback import LABELS, Feedback, labels, record_feedback
from .messages import CapabilityMessages, PostedMessage
from .outcomes import IncidentOutcome, IncidentSource, NoIncidents
from .platform import SidecarPlatform, SkillPlatform
from .proposals import Proposal
from .runner import Review, report, reports
from .scorecards import Scorecard, scorecards

__all__ = [
    "LABELS",
    "CapabilityMessages",
    "Feedback",
    "IncidentOutcome",
    "IncidentSource",
    "NoIncidents",
    "PostedMessage",
    "Proposal",
    "Review",
    "ReviewError",
    "Scorecard",
    "SidecarPlatform",
    "SkillPlatform",
    "UnknownLabel",
    "UnknownMessage",
    "UnknownProposal",
    "UnknownReport",
    "UnknownSkill",
    "labels",
    "record_feedback",
    "report",
    "reports",
    "scorecards",
]
