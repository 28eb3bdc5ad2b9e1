"""What the ledger holds, as the readers hand it out."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .histogram import BUCKET_COLUMNS, label, percentile

TERMINAL = ("completed", "failed", "cancelled")
STATUSES = ("running", *TERMINAL)
TRIGGERS = ("cron", "event", "invoke")


class LedgerError(Exception):
    """Base of the ledger's errors; the message says what is wrong and what to do."""


class RunNotFound(LedgerError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r} in the ledger (list runs with `loopwright runs`)")
        self.run_id = run_id


class AmbiguousRunId(LedgerError):
    def __init__(self, prefix: str, matches: list[str]) -> None:
        shown = ", ".join(matches[:5])
        super().__init__(
            f"run id prefix {prefix!r} matches {len(matches)} runs ({shown}); give more characters"
        )
        self.prefix = prefix
        self.matches = matches


@dataclasses.dataclass(frozen=True)
class RunRecord:
    run_id: str
    app_id: str
    function_id: str
    skill_id: str | None
    skill_version: int | None
    trigger: str
    event_name: str | None
    event_id: str | None
    cron: str | None
    status: str
    started_at: float
    ended_at: float | None = None
    duration_ms: float | None = None
    attempts: int = 1
    error_code: str | None = None
    error_message: str | None = None
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    fallback: bool = False
    output: Any = None

    @property
    def subject(self) -> str:
        """What rollups are keyed by: the skill, or the function for platform functions."""
        return self.skill_id or self.function_id

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        values["fallback"] = bool(values.get("fallback"))
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class StepRecord:
    run_id: str
    step_id: str
    name: str
    op: str
    status: str  # completed | failed | retrying
    attempt: int
    started_at: float
    duration_ms: float
    error_code: str | None = None
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Flat fields: a shallow copy (dataclasses.asdict deep-copies, ~10x the cost, per step).
        return dict(self.__dict__)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> StepRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclasses.dataclass(frozen=True)
class DecisionRecord:
    run_id: str
    skill_id: str
    skill_version: int | None
    index: int
    at: float
    subject: str | None
    label: str | None
    decided_by: str | None
    fallback: bool
    features: dict[str, Any]
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DecisionRecord:
        return cls(
            run_id=row["run_id"],
            skill_id=row["skill_id"],
            skill_version=row["skill_version"],
            index=row["idx"],
            at=row["at"],
            subject=row["subject"],
            label=row["label"],
            decided_by=row["decided_by"],
            fallback=bool(row["fallback"]),
            features=row["features"] or {},
            detail=row["detail"] or {},
        )


@dataclasses.dataclass(frozen=True)
class DailyRollup:
    skill_id: str
    skill_version: int
    day: str
    runs: int
    completed: int
    failed: int
    cancelled: int
    retried: int
    fallbacks: int
    llm_calls: int
    cost_usd: float
    duration_sum_ms: float
    duration_hist: dict[str, int]  # bucket upper bound in ms ("20", ..., "inf") -> runs

    def percentile_ms(self, q: float) -> float | None:
        return percentile(self.duration_hist, q)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DailyRollup:
        hist = {label(name): int(row[name]) for name in BUCKET_COLUMNS if row[name]}
        names = {f.name for f in dataclasses.fields(cls)} - {"duration_hist"}
        return cls(**{k: row[k] for k in names}, duration_hist=hist)
