"""The gate's tests: backtest, shadow, promotion and the watch after it (docs/REVIEW.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .backtest import NORMAL, Comparison
from .outcomes import Truth

#: A clear win: false alarms down by at least this share, no new miss, precision not lower.
PROMOTE_MIN_FALSE_ALARM_REDUCTION = 0.5
SHADOW_RUNS = 6
WATCH_MIN_RUNS = 6
WATCH_SUCCESS_DROP = 0.10
PROMOTIONS_PER_WEEK = 1
WEEK = 7 * 86_400.0


@dataclasses.dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def backtest_verdict(c: Comparison) -> Verdict:
    if c.new_misses:
        return Verdict(False, f"misses true incident(s) the current version caught: {c.new_misses}")
    if c.current.incidents == 0 and c.current.false_alarms == 0:
        return Verdict(False, "no labelled outcomes in the window to judge against")
    reduction = c.false_alarm_reduction
    if reduction is None or reduction < PROMOTE_MIN_FALSE_ALARM_REDUCTION:
        shown = "n/a" if reduction is None else f"{reduction:.0%}"
        return Verdict(
            False,
            f"false alarms down {shown}, less than {PROMOTE_MIN_FALSE_ALARM_REDUCTION:.0%}",
        )
    before, after = c.current.precision, c.candidate.precision
    if before is not None and after is not None and after < before:
        return Verdict(False, f"precision falls {before:.2f} → {after:.2f}")
    return Verdict(
        True,
        f"false alarms {c.current.false_alarms:g} → {c.candidate.false_alarms:g} "
        f"({reduction:.0%} fewer), incidents caught {len(c.current.caught)} → "
        f"{len(c.candidate.caught)}",
    )


@dataclasses.dataclass(frozen=True)
class ShadowResult:
    runs: int
    decisions: int
    disagreements: list[dict[str, Any]]
    dangerous: list[dict[str, Any]]
    errors: list[str]
    llm_usd: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def shadow_compare(
    active: Sequence[Any],
    candidate_labels: Sequence[str],
    truths: Sequence[Truth | None],
    errors: list[str],
    llm_usd: float = 0.0,
) -> ShadowResult:
    """Compare the candidate's decisions with the active version's on the same runs.

    Dangerous: the candidate says normal where the active version said critical, or where the
    truth (when labelled) is an incident.
    """
    disagreements, dangerous = [], []
    for d, label, truth in zip(active, candidate_labels, truths, strict=True):
        if label == (d.label or NORMAL):
            continue
        item = {
            "run_id": d.run_id,
            "subject": d.subject,
            "at": d.at,
            "active": d.label,
            "candidate": label,
        }
        disagreements.append(item)
        silent = label == NORMAL and (
            d.label == "critical" or (truth is not None and truth.incident)
        )
        if silent:
            dangerous.append(item)
    return ShadowResult(
        len({d.run_id for d in active}), len(active), disagreements, dangerous, errors, llm_usd
    )


def shadow_verdict(s: ShadowResult, needed: int = SHADOW_RUNS) -> Verdict | None:
    """None while the shadow has fewer than ``needed`` runs."""
    if s.errors:
        return Verdict(False, f"candidate failed in shadow: {s.errors[0]}")
    if s.dangerous:
        return Verdict(False, f"candidate silent on {len(s.dangerous)} alert(s) that mattered")
    if s.runs < needed:
        return None
    return Verdict(
        True, f"{s.runs} shadow runs, {len(s.disagreements)} disagreement(s), none dangerous"
    )


@dataclasses.dataclass(frozen=True)
class WatchFigures:
    runs: int
    success_rate: float | None
    missed: list[str]
    false_alarms: float
    labelled_alerts: int


def watch_verdict(new: WatchFigures, old: WatchFigures) -> Verdict | None:
    """Roll back (ok=False) on a regression; None while there is too little to judge.

    A true incident the new version labelled normal rolls back at once (one is enough);
    otherwise, after ``WATCH_MIN_RUNS`` runs, a success rate more than ``WATCH_SUCCESS_DROP``
    below the old version's, or a higher false-alarm rate, rolls back.
    """
    if new.missed:
        return Verdict(False, f"the new version missed true incident(s): {new.missed}")
    if new.runs < WATCH_MIN_RUNS:
        return None
    if (
        new.success_rate is not None
        and old.success_rate is not None
        and new.success_rate < old.success_rate - WATCH_SUCCESS_DROP
    ):
        return Verdict(False, f"success rate fell {old.success_rate:.0%} → {new.success_rate:.0%}")
    new_fa = new.false_alarms / new.labelled_alerts if new.labelled_alerts else 0.0
    old_fa = old.false_alarms / old.labelled_alerts if old.labelled_alerts else 0.0
    if new.labelled_alerts >= 2 and new_fa > old_fa:
        return Verdict(False, f"false-alarm rate rose {old_fa:.0%} → {new_fa:.0%}")
    return Verdict(True, f"{new.runs} runs since promotion, no regression")


def promotions_left(promoted_at: Sequence[float], now: float) -> bool:
    return sum(1 for at in promoted_at if now - at < WEEK) < PROMOTIONS_PER_WEEK
