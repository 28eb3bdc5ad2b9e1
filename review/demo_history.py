"""Weeks of SIMULATED health-check history, so a fresh demo's review has something to say.

A new platform has no past: the weekly review scores, picks and tunes from recorded runs and
labelled alerts, and a demo that has run for ten minutes has neither. This writes what a month
of the health check every 30 minutes on three services would have left behind: one ledger run
per check with its decision records, an inbox alert for every non-normal decision, and a
person's label on it. The error-rate threshold is tight (the core skill's ``ERROR_RATE_DEGRADED``
0.02): short blips to 2.5-3.5 % against a 1 % baseline raise "degraded" alerts that people
label false-alarm; two true incidents (4.5 % against 0.8 %, degraded but under the 5 % hard
limit) are labelled useful.

Every run id starts with ``demo-history-`` and the runs belong to the app
``loopwright-demo-history``, so nobody mistakes them for real runs. Writing twice is harmless:
runs are idempotent by id, alerts by their dedupe key and labels per message and person. The
review's tests use the same history with a fixed start.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.store import Store
from skills_core.capabilities.notify.inbox import post_once
from skills_core.capabilities.notify.messages import PostRequest
from skills_core.capabilities.store import CapabilityStore

from .feedback import record_feedback
from .messages import CapabilityMessages
from .tuning import Classifier

SKILL = "health-check"
SERVICES = ("checkout", "payments", "search")
APP_ID = "loopwright-demo-history"
RUN_PREFIX = "demo-history-"
LABELLER = "demo-history"
DAY = 86_400.0
STEP = 1800.0
#: When the two true incidents start, in days (and hours) after the history's start.
INCIDENT_OFFSETS = ((19 * DAY + 10 * 3600, "checkout"), (25 * DAY + 14 * 3600, "payments"))


def features(error_rate: float, baseline: float, rps: float = 50.0) -> dict[str, Any]:
    """The health check's feature record for one service, flat except for its error rate."""
    return {
        "rps": {"now": rps, "baseline": rps, "since": None},
        "error_rate": {"now": error_rate, "baseline": baseline, "since": None},
        "p95": {"now": 0.21, "baseline": 0.2, "since": None},
        "p99": {"now": 0.41, "baseline": 0.4, "since": None},
        "cpu": {"now": 0.4, "baseline": 0.4, "since": None},
        "memory": {"now": 0.5, "baseline": 0.5, "since": None},
    }


@dataclasses.dataclass
class History:
    """Writes simulated health-check runs and labelled alerts into the platform's stores."""

    store: Store
    caps: CapabilityStore
    classifier: Classifier
    version: int = 1
    seq: int = 0
    labeller: str = LABELLER

    def __post_init__(self) -> None:
        self.ledger = LedgerReader(self.store)
        self.writer = LedgerWriter(self.store)
        self.messages = CapabilityMessages(self.caps.store)

    def tick(
        self,
        at: float,
        levels: dict[str, tuple[float, float]],
        truth: dict[str, str] | None = None,
        status: str = "completed",
    ) -> str:
        """One health-check run at ``at``; ``levels`` = {service: (error rate, baseline)},
        ``truth`` = {service: the label a person gives}."""
        self.seq += 1
        run_id = f"{RUN_PREFIX}{self.seq:06d}"
        decisions: list[dict[str, Any]] = []
        for service in SERVICES:
            err, base = levels.get(service, (0.01, 0.01))
            seen = features(err, base)
            label = self.classifier.labels([_Rules(seen)])[0]
            decisions.append(
                {
                    "subject": service,
                    "label": label,
                    "decided_by": "rules",
                    "fallback": True,
                    "features": seen,
                    "at": at,
                }
            )
        run = RunRecord(
            run_id=run_id,
            app_id=APP_ID,
            function_id=SKILL,
            skill_id=SKILL,
            skill_version=self.version,
            trigger="cron",
            event_name=None,
            event_id=None,
            cron="*/30 * * * *",
            status=status,
            started_at=at,
            ended_at=at + 2,
            duration_ms=1500.0 + (self.seq * 37) % 400,
            fallback=True,
        )
        self.writer.record_run(run, decisions=decisions)
        for d in decisions:
            given = (truth or {}).get(d["subject"])
            if d["label"] != "normal" or given == "missed":
                self.post_and_label(run_id, d["subject"], at, given)
        return run_id

    def post_and_label(self, run_id: str, service: str, at: float, label: str | None) -> str:
        """The alert the check would have posted at ``at``, and a person's label on it."""
        posted = post_once(
            self.caps,
            SKILL,
            PostRequest(
                channel="inbox",
                text=f"[SIMULATED history] {service} degraded",
                dedupe_key=f"{run_id}:{service}",
                run_id=run_id,
            ),
            "inbox",
            at=at,
        )
        if label:
            record_feedback(
                self.store,
                self.messages,
                self.ledger,
                posted.message_id,
                label,
                by=self.labeller,
                note="simulated history",
                now=at + 600,
            )
        return posted.message_id


@dataclasses.dataclass
class _Rules:
    features: dict[str, Any]
    decided_by: str = "rules"
    label: str = "normal"


def seed(h: History, start: float, weeks: int = 4, *, seed: int = 7) -> dict[str, Any]:
    """``weeks`` of checks every 30 minutes from ``start``: blips labelled false-alarm on 2 %
    of checks per service, and the two true incidents (when the span reaches them)."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    rng = random.Random(seed)
    incidents_at = {start + offset: service for offset, service in INCIDENT_OFFSETS}
    at, end = start, start + weeks * 7 * DAY
    counts = {"runs": 0, "false_alarms": 0, "incidents": 0, "since": start, "until": end}
    while at < end:
        levels: dict[str, tuple[float, float]] = {}
        truth: dict[str, str] = {}
        for service in SERVICES:
            if rng.random() < 0.02:  # a blip: the tight threshold fires
                levels[service] = (rng.uniform(0.025, 0.035), 0.01)
                truth[service] = "false-alarm"
                counts["false_alarms"] += 1
        for when, service in incidents_at.items():
            if when <= at < when + 2 * STEP:
                levels[service] = (0.045, 0.008)
                truth[service] = "useful"
                counts["incidents"] += 1
        h.tick(at, levels, truth)
        counts["runs"] += 1
        at += STEP
    return counts


def aligned_start(now: float, weeks: int) -> float:
    """The start of a history of ``weeks`` that ends at the last half hour before ``now``."""
    return (now // STEP) * STEP - weeks * 7 * DAY
