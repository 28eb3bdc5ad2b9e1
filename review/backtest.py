"""Replay a classifier's decisions on recorded inputs and score them against the truth.

Per version: alerts (label other than ``normal``), false alarms (alerts on a decision whose
truth is "no incident", weighted), incidents caught (a true incident is caught when any of its
decisions alerts), precision and recall. The gate rejects a candidate that misses any true
incident the current version caught.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from .outcomes import Truth

NORMAL = "normal"


@dataclasses.dataclass(frozen=True)
class Score:
    decisions: int
    alerts: int
    labelled: int
    false_alarms: float  # weighted
    false_alarm_count: int
    true_alerts: int
    incidents: int
    caught: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def precision(self) -> float | None:
        judged = self.true_alerts + self.false_alarms
        return None if judged == 0 else self.true_alerts / judged

    @property
    def recall(self) -> float | None:
        return None if self.incidents == 0 else len(self.caught) / self.incidents

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.update(precision=self.precision, recall=self.recall)
        out["caught"], out["missed"] = list(self.caught), list(self.missed)
        return out


def score(labels: Sequence[str], truths: Sequence[Truth | None]) -> Score:
    alerts = false_count = true_alerts = labelled = 0
    false_alarms = 0.0
    incidents: dict[str, bool] = {}
    for label, truth in zip(labels, truths, strict=True):
        alert = label != NORMAL
        alerts += alert
        if truth is None:
            continue
        labelled += 1
        if truth.incident:
            incidents[truth.key] = incidents.get(truth.key, False) or alert
            true_alerts += alert
        elif alert:
            false_alarms += truth.weight
            false_count += 1
    return Score(
        decisions=len(labels),
        alerts=alerts,
        labelled=labelled,
        false_alarms=round(false_alarms, 6),
        false_alarm_count=false_count,
        true_alerts=true_alerts,
        incidents=len(incidents),
        caught=tuple(sorted(k for k, hit in incidents.items() if hit)),
        missed=tuple(sorted(k for k, hit in incidents.items() if not hit)),
    )


Classify = Callable[[dict[str, Any]], str]


def replay(classify: Classify, features: Sequence[dict[str, Any]]) -> list[str]:
    return [classify(f) for f in features]


@dataclasses.dataclass(frozen=True)
class Comparison:
    current: Score
    candidate: Score

    @property
    def new_misses(self) -> list[str]:
        """True incidents the current version caught and the candidate does not."""
        return sorted(set(self.current.caught) - set(self.candidate.caught))

    @property
    def false_alarm_reduction(self) -> float | None:
        if self.current.false_alarms == 0:
            return None
        return 1 - self.candidate.false_alarms / self.current.false_alarms

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current.to_json(),
            "candidate": self.candidate.to_json(),
            "new_misses": self.new_misses,
            "false_alarm_reduction": self.false_alarm_reduction,
        }
