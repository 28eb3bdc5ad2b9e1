"""Label statistics of a classifier's decisions: truth-matched alerts, false alarms, misses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .backtest import NORMAL
from .outcomes import Truth, flaps
from .scorecards import LabelStats, day_of


def label_stats(decisions: Sequence[Any], truths: Sequence[Truth | None]) -> LabelStats:
    stats = LabelStats()
    incidents: dict[str, bool] = {}
    for d, truth in zip(decisions, truths, strict=True):
        if truth is None:
            continue
        alert = (d.label or NORMAL) != NORMAL
        day = day_of(d.at)
        agree, judged = stats.agreement.get(day, (0.0, 0.0))
        stats.agreement[day] = (
            agree + truth.weight * (alert == truth.incident),
            judged + truth.weight,
        )
        if truth.incident:
            incidents[truth.key] = incidents.get(truth.key, False) or alert
        if alert:
            stats.labelled_alerts += 1
            if not truth.incident:
                stats.false_alarms += truth.weight
    stats.incidents = len(incidents)
    stats.missed = sum(not hit for hit in incidents.values())
    by_day: dict[str, list[Any]] = {}
    for d in decisions:
        by_day.setdefault(day_of(d.at), []).append(d)
    stats.flaps = {day: n for day, items in by_day.items() if (n := flaps(items))}
    return stats
