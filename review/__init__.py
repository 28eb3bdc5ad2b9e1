"""The weekly review loop: outcome labels, scorecards, selection, tuning and the gate.

The public API the console and the CLI use (docs/REVIEW.md):

* ``record_feedback`` / ``labels`` - outcome labels on what skills posted.
* ``scorecards`` - per skill and version over a window, from the ledger's rollups.
* ``Review`` - one review run (``Review(store, ledger, platform).run(now)``).
* ``reports`` / ``report`` / ``Proposal`` - what past reviews found and proposed.
* ``feedback_router`` - a FastAPI router (``POST /v1/feedback``, review reads) to mount.

Names load on first use, so ``loopwright --help`` does not import the store layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ReviewError": "errors",
    "UnknownLabel": "errors",
    "UnknownMessage": "errors",
    "UnknownProposal": "errors",
    "UnknownReport": "errors",
    "UnknownSkill": "errors",
    "LABELS": "feedback",
    "Feedback": "feedback",
    "labels": "feedback",
    "record_feedback": "feedback",
    "CapabilityMessages": "messages",
    "PostedMessage": "messages",
    "IncidentOutcome": "outcomes",
    "IncidentSource": "outcomes",
    "NoIncidents": "outcomes",
    "SidecarPlatform": "platform",
    "SkillPlatform": "platform",
    "Proposal": "proposals",
    "Review": "runner",
    "report": "runner",
    "reports": "runner",
    "Scorecard": "scorecards",
    "scorecards": "scorecards",
    "feedback_router": "api",
}

if TYPE_CHECKING:
    from .api import feedback_router
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'review' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


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
    "feedback_router",
    "labels",
    "record_feedback",
    "report",
    "reports",
    "scorecards",
]
