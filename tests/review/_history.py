"""Seeded health-check history for the review's tests (time injected, nothing slept).

Four weeks of a health check every 30 minutes on three services. The error-rate threshold is
tight (ERROR_RATE_DEGRADED 0.02): short blips to 2.5-3.5 % against a 1 % baseline raise
"degraded" alerts that people label false-alarm. Two true incidents (4.5 % against 0.8 %,
degraded but under the 5 % hard limit) are labelled useful.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from pathlib import Path
from typing import Any

from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.store import Store
from review.feedback import record_feedback
from review.messages import CapabilityMessages
from review.tuning import Classifier
from skills_core.capabilities.notify.inbox import messages as inbox_messages
from skills_core.capabilities.notify.inbox import post_once
from skills_core.capabilities.notify.messages import PostRequest
from skills_core.capabilities.store import CapabilityStore

HEALTH_SOURCE = (Path(__file__).parents[2] / "skills_core/skills/health_check.py").read_text()
SKILL = "health-check"
SERVICES = ("checkout", "payments", "search")
START = datetime.datetime(2026, 11, 2, 6, 0, tzinfo=datetime.UTC).timestamp()  # a Monday
DAY = 86_400.0
STEP = 1800.0


def features(error_rate: float, baseline: float, rps: float = 50.0) -> dict[str, Any]:
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
    store: Store
    caps: CapabilityStore
    caps_path: Path
    ledger: LedgerReader
    writer: LedgerWriter
    classifier: Classifier
    version: int = 1
    seq: int = 0
    alerts: list[tuple[str, str, bool]] = dataclasses.field(default_factory=list)

    def tick(
        self,
        at: float,
        levels: dict[str, tuple[float, float]],
        truth: dict[str, str] | None = None,
        status: str = "completed",
    ) -> str:
        """One health-check run at ``at``; ``truth`` = {service: label a person gives}."""
        self.seq += 1
        run_id = f"run-{self.seq:06d}"
        decisions = []
        for service in SERVICES:
            err, base = levels.get(service, (0.01, 0.01))
            f = features(err, base)
            label = self.classifier.labels([_Rules(f)])[0]
            decisions.append(
                {
                    "subject": service,
                    "label": label,
                    "decided_by": "rules",
                    "fallback": True,
                    "features": f,
                    "at": at,
                }
            )
        run = RunRecord(
            run_id=run_id,
            app_id="loopwright-skills",
            function_id="health-check",
            skill_id=SKILL,
            skill_version=self.version,
            trigger="cron",
            event_name=None,
            event_id=None,
            cron="*/30 * * * *",
            status=status,
            started_at=at,
            ended_at=at + 2,
            duration_ms=1500.0 + 400 * random.random(),
            fallback=True,
        )
        self.writer.record_run(run, decisions=decisions)
        for d in decisions:
            label = (truth or {}).get(d["subject"])
            if d["label"] != "normal" or label == "missed":
                self.post_and_label(run_id, d["subject"], at, label)
        return run_id

    def post_and_label(self, run_id: str, service: str, at: float, label: str | None) -> str:
        posted = post_once(
            self.caps,
            SKILL,
            PostRequest(
                channel="inbox",
                text=f"{service} degraded",
                dedupe_key=f"{run_id}:{service}",
                run_id=run_id,
            ),
            "inbox",
        )
        number = int(posted.message_id.split(":")[1])
        self.caps.write(
            lambda db: db.execute(
                inbox_messages.update().where(inbox_messages.c.id == number).values(created_at=at)
            )
        )
        if label:
            record_feedback(
                self.store,
                CapabilityMessages(self.caps_path),
                self.ledger,
                posted.message_id,
                label,
                now=at + 600,
            )
        return posted.message_id


@dataclasses.dataclass
class _Rules:
    features: dict[str, Any]
    decided_by: str = "rules"
    label: str = "normal"


def seed_four_weeks(h: History, weeks: int = 4) -> dict[str, Any]:
    rng = random.Random(7)
    incidents_at = {
        START + 19 * DAY + 10 * 3600: "checkout",
        START + 25 * DAY + 14 * 3600: "payments",
    }
    at = START
    counts = {"false_alarms": 0, "incidents": 0}
    while at < START + weeks * 7 * DAY:
        levels: dict[str, tuple[float, float]] = {}
        truth: dict[str, str] = {}
        for service in SERVICES:
            if rng.random() < 0.02:  # a blip: tight threshold fires
                levels[service] = (rng.uniform(0.025, 0.035), 0.01)
                truth[service] = "false-alarm"
                counts["false_alarms"] += 1
        for when, service in incidents_at.items():
            if when <= at < when + 2 * STEP:
                levels[service] = (0.045, 0.008)
                truth[service] = "useful"
                counts["incidents"] += 1
        h.tick(at, levels, truth)
        at += STEP
    return counts
