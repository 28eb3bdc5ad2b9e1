"""Scorecards per skill and version over a window, from the ledger's daily rollups.

Never scans raw runs: runs, outcomes, retries, fallbacks, cost and the duration histogram
come from ``DailyRollup`` rows. Label-based figures (false alarms, misses, agreement) come
from ``LabelStats`` the caller computed from the labelled decisions (``review.labels``).

Quality per run, by kind of skill (docs/REVIEW.md):

* classifier (its decisions have labels in the window): on a day with labelled decisions,
  the weighted share of them the skill got right, minus ``FLAP_PENALTY`` per flap that day;
  on a day without labels, the general definition.
* general: the share of runs that completed, times the share that finished within the
  latency budget, times ``min(1, budget / cost per run)`` when a per-run budget is known.

Stability = ICIR = mean / max(std, ``STD_FLOOR``) of the daily quality over days with runs;
with fewer than ``MIN_POINTS`` such days there is no ICIR and the card says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterable
from typing import Any

from loopwright.ledger import is_shadow

from . import rollup_sums

MIN_POINTS = 3
STD_FLOOR = 0.05
FLAP_PENALTY = 0.05
LATENCY_BUDGET_MS = 60_000.0
DAY = 86_400.0


def day_of(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d")


def days_between(since: float, until: float) -> list[str]:
    """The UTC days the window touches (rollups are per day): both partial ends included."""
    if until <= since:
        return []
    out, at, last = [], since, day_of(until - 1e-3)
    while True:
        day = day_of(at)
        out.append(day)
        if day >= last:
            return out
        at += DAY


@dataclasses.dataclass
class LabelStats:
    labelled_alerts: int = 0
    false_alarms: float = 0.0
    incidents: int = 0
    missed: int = 0
    #: day -> (weighted agreement, weighted labelled decisions)
    agreement: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    flaps: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Budget:
    """A skill's per-run budget (the latency budget is platform-wide: LATENCY_BUDGET_MS)."""

    per_run_usd: float | None = None


@dataclasses.dataclass
class Scorecard:
    skill_id: str
    version: int | None
    kind: str
    days: int
    runs: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    cost_per_run: float | None
    cost_per_week: float
    fallback_rate: float | None
    retry_rate: float | None
    labelled_alerts: int
    false_alarm_rate: float | None
    incidents: int
    miss_rate: float | None
    quality: float | None
    icir: float | None
    icir_note: str
    daily_quality: dict[str, float]
    previous_icir: float | None = None
    previous_quality: float | None = None

    @property
    def icir_trend(self) -> float | None:
        if self.icir is None or self.previous_icir is None:
            return None
        return self.icir - self.previous_icir

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "icir_trend": self.icir_trend}


def quantile_ms(hist: dict[str, int], q: float) -> float | None:
    total = sum(hist.values())
    if total == 0:
        return None
    seen = 0
    finite = [float(b) for b in hist if float(b) != float("inf")]
    for bound, count in sorted(((float(b), c) for b, c in hist.items())):
        seen += count
        if seen >= q * total:
            # The open-ended top bucket is shown as its lower bound (at least that slow).
            return bound if bound != float("inf") else max(finite, default=None)
    return max(finite, default=None)


def _merge(hists: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in hists:
        for bound, count in h.items():
            out[bound] = out.get(bound, 0) + count
    return out


def day_quality(day: Any, budget: Budget) -> float | None:
    """General quality of one day (``day``: runs, completed, cost_usd, within_latency)."""
    if day.runs == 0:
        return None
    quality = day.completed / day.runs * (day.within_latency / day.runs)
    if budget.per_run_usd and day.cost_usd > 0:
        quality *= min(1.0, budget.per_run_usd / (day.cost_usd / day.runs))
    return float(quality)


def icir(points: list[float]) -> tuple[float | None, str]:
    if len(points) < MIN_POINTS:
        return None, f"too few points ({len(points)} day(s) with runs, {MIN_POINTS} needed)"
    mean = sum(points) / len(points)
    # Plain floats: statistics.pstdev's exact fractions cost more than the rest of a card.
    std = math.sqrt(sum((p - mean) ** 2 for p in points) / len(points))
    note = "std floored" if std < STD_FLOOR else ""
    return mean / max(std, STD_FLOOR), note


def daily_quality(
    days: Iterable[Any], labels: LabelStats | None, budget: Budget
) -> dict[str, float]:
    """Quality per day with runs: the labels' agreement where a day has labelled decisions,
    else the general definition; minus the flap penalty for a classifier."""
    daily: dict[str, float] = {}
    for d in days:
        q = day_quality(d, budget)
        if labels and d.day in labels.agreement and labels.agreement[d.day][1] > 0:
            agree, judged = labels.agreement[d.day]
            q = agree / judged
        if q is None:
            continue
        if labels:
            q = max(0.0, q - FLAP_PENALTY * labels.flaps.get(d.day, 0))
        daily[d.day] = round(q, 6)
    return daily


def _rate(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def build(
    skill_id: str,
    version: int | None,
    sums: Any,
    days: int,
    labels: LabelStats | None = None,
    budget: Budget | None = None,
) -> Scorecard:
    """A card from ``rollup_sums.Sums`` (window totals, histogram, per-day rows)."""
    t = sums.totals
    runs = int(t["runs"])
    daily = daily_quality(sums.days, labels, budget or Budget())
    stability, note = icir(list(daily.values()))
    kind = "classifier" if labels and labels.agreement else "general"
    lab = labels or LabelStats()
    return Scorecard(
        skill_id=skill_id,
        version=version,
        kind=kind,
        days=days,
        runs=runs,
        success_rate=_rate(t["completed"], runs),
        p50_ms=quantile_ms(sums.hist, 0.5),
        p95_ms=quantile_ms(sums.hist, 0.95),
        cost_per_run=_rate(t["cost_usd"], runs),
        cost_per_week=t["cost_usd"] * 7 / max(days, 1),
        fallback_rate=_rate(t["fallbacks"], runs),
        retry_rate=_rate(t["retried"], runs),
        labelled_alerts=lab.labelled_alerts,
        false_alarm_rate=_rate(lab.false_alarms, lab.labelled_alerts),
        incidents=lab.incidents,
        miss_rate=_rate(lab.missed, lab.incidents),
        quality=sum(daily.values()) / len(daily) if daily else None,
        icir=stability,
        icir_note=note,
        daily_quality=daily,
    )


def scorecards(
    ledger: Any,
    since: float,
    until: float,
    *,
    skill: str | None = None,
    labels: dict[tuple[str, int | None], LabelStats] | None = None,
    budgets: dict[str, Budget] | None = None,
    previous: bool = True,
    previous_labels: dict[tuple[str, int | None], LabelStats] | None = None,
) -> list[Scorecard]:
    """One card per (skill, version) with runs in [since, until), plus last window's ICIR.

    One read of the rollups covers both windows."""
    days = days_between(since, until)
    if not days:
        return []
    before_days = days_between(since - (until - since), since) if previous else []
    first = min([*days, *before_days])
    window, latency = set(days), LATENCY_BUDGET_MS
    sums, per_day = rollup_sums.read(ledger.store, first, days[-1], window, latency, skill)
    labels, budgets = labels or {}, budgets or {}
    cards = [
        build(s, v, sm, len(days), labels.get((s, v)), budgets.get(s))
        for (s, v), sm in sorted(sums.items())
        if not is_shadow(s)  # a candidate's shadow runs are not the skill's (ledger/shadow.py)
    ]
    if previous and cards:
        _add_trend(cards, per_day, set(before_days), previous_labels or {}, budgets)
    return cards


def _add_trend(
    cards: list[Scorecard],
    per_day: dict[tuple[str, int], list[Any]],
    before_days: set[str],
    labels: dict[tuple[str, int | None], LabelStats],
    budgets: dict[str, Budget],
) -> None:
    """Set each card's previous-window ICIR and quality (only those two: building whole
    cards for the previous window cost as much as the current window's)."""
    before: dict[tuple[str, int | None], tuple[float | None, float | None]] = {}
    by_skill: dict[str, tuple[float | None, float | None]] = {}
    for (s, v), rows in sorted(per_day.items()):
        mine = [d for d in rows if d.day in before_days]  # rows come ordered by day
        if not mine:
            continue
        daily = daily_quality(mine, labels.get((s, v)), budgets.get(s) or Budget())
        points = list(daily.values())
        found = (icir(points)[0], sum(points) / len(points) if points else None)
        before[(s, v)] = by_skill[s] = found  # the latest version stands for the skill
    for card in cards:
        prior = before.get((card.skill_id, card.version)) or by_skill.get(card.skill_id)
        if prior:
            card.previous_icir, card.previous_quality = prior
