"""Which skills the review works on, and why: documented rules, each pick with its evidence."""

from __future__ import annotations

import dataclasses
from typing import Any

from .scorecards import Scorecard

FALSE_ALARM_RATE_MAX = 0.25
MIN_LABELLED_ALERTS = 4
MIN_INCIDENTS_FOR_MISSES = 1
SUCCESS_RATE_MIN = 0.90
MIN_RUNS = 20
COST_SHARE_MAX = 0.80
ICIR_MIN = 1.0
#: The review never proposes changes to itself (nor to the validator, which is not a skill).
NEVER_REVIEWED = frozenset({"weekly-review", "cron-watchdog"})


@dataclasses.dataclass(frozen=True)
class Pick:
    skill_id: str
    version: int | None
    rules: tuple[str, ...]
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "skill_id": self.skill_id,
            "version": self.version,
            "rules": list(self.rules),
            "evidence": self.evidence,
        }


def rules_broken(card: Scorecard, per_run_budget: float | None = None) -> list[str]:
    out = []
    fa = card.false_alarm_rate
    if fa is not None and card.labelled_alerts >= MIN_LABELLED_ALERTS and fa > FALSE_ALARM_RATE_MAX:
        out.append(
            f"false-alarm rate {fa:.0%} > {FALSE_ALARM_RATE_MAX:.0%} "
            f"over {card.labelled_alerts} labelled alerts"
        )
    if card.miss_rate and card.incidents >= MIN_INCIDENTS_FOR_MISSES:
        out.append(f"missed {card.miss_rate:.0%} of {card.incidents} true incident(s)")
    if (
        card.success_rate is not None
        and card.runs >= MIN_RUNS
        and card.success_rate < SUCCESS_RATE_MIN
    ):
        out.append(
            f"success rate {card.success_rate:.0%} < {SUCCESS_RATE_MIN:.0%} over {card.runs} runs"
        )
    if per_run_budget and card.cost_per_run and card.cost_per_run > COST_SHARE_MAX * per_run_budget:
        out.append(
            f"cost per run ${card.cost_per_run:.4f} > {COST_SHARE_MAX:.0%} of its "
            f"${per_run_budget:.4f} budget"
        )
    if card.icir is not None and card.icir < ICIR_MIN:
        out.append(f"ICIR {card.icir:.2f} < {ICIR_MIN}")
    return out


def select(
    cards: list[Scorecard],
    *,
    opted_out: frozenset[str] = frozenset(),
    budgets: dict[str, float] | None = None,
) -> tuple[list[Pick], list[str]]:
    """(picks, notes): one pick per skill (its latest version with runs); notes say who was
    skipped and why."""
    latest: dict[str, Scorecard] = {}
    for card in cards:
        if card.skill_id not in latest or (card.version or 0) > (
            latest[card.skill_id].version or 0
        ):
            latest[card.skill_id] = card
    picks, notes = [], []
    for skill_id, card in sorted(latest.items()):
        broken = rules_broken(card, (budgets or {}).get(skill_id))
        if not broken:
            continue
        if skill_id in NEVER_REVIEWED:
            notes.append(f"{skill_id}: not changed by the review (it is the review's own)")
            continue
        if skill_id in opted_out:
            notes.append(f"{skill_id}: manifest opts out of review changes ({'; '.join(broken)})")
            continue
        evidence = {
            "runs": card.runs,
            "success_rate": card.success_rate,
            "labelled_alerts": card.labelled_alerts,
            "false_alarm_rate": card.false_alarm_rate,
            "incidents": card.incidents,
            "miss_rate": card.miss_rate,
            "icir": card.icir,
            "cost_per_run": card.cost_per_run,
        }
        picks.append(Pick(skill_id, card.version, tuple(broken), evidence))
    return picks, notes
