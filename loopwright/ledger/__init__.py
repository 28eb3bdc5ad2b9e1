"""The run ledger: one record per run, step records as steps finish, the skills' decision
records, and daily rollups — the history the review, the console, the CLI and the agent read.

Written by SDK middleware (``LedgerMiddleware``) in every app of the platform, into the
platform store, so it works unchanged when real Inngest replaces the embedded engine: nothing
here comes from an engine-only endpoint. See docs/LEDGER.md.
"""

from .histogram import percentile
from .reader import LedgerReader
from .records import (
    STATUSES,
    TERMINAL,
    AmbiguousRunId,
    DailyRollup,
    DecisionRecord,
    LedgerError,
    RunNotFound,
    RunRecord,
    StepRecord,
)
from .shadow import is_shadow, shadow_of, shadow_subject
from .writer import CallStart, LedgerWriter, Usage

__all__ = [
    "STATUSES",
    "TERMINAL",
    "AmbiguousRunId",
    "CallStart",
    "DailyRollup",
    "DecisionRecord",
    "LedgerError",
    "LedgerReader",
    "LedgerWriter",
    "RunNotFound",
    "RunRecord",
    "StepRecord",
    "Usage",
    "is_shadow",
    "percentile",
    "shadow_of",
    "shadow_subject",
]
