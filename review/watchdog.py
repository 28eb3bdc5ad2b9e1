"""Cron watchdog: every cron skill's expected fires (from its schedule) against its runs.

For each skill that runs on a cron (the ledger records the expression with each cron run):

* **missed** - an expected fire with no run by ``grace`` after it (a paused skill, a stopped
  engine, a sync that lost the function);
* **late** - the run started more than ``grace`` after the fire;
* **failing** - its last ``SILENT_FAILURES`` runs all failed.

``grace`` is half the skill's interval, capped at ``GRACE_MAX_S``, so with the watchdog
checking every minute an alert goes out within two intervals of the fire that was missed.
Alerts go to the inbox once per (skill, kind, fire) - a dedupe key makes a re-run silent.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import zoneinfo
from collections.abc import Sequence
from typing import Any

from croniter import croniter

GRACE_MAX_S = 300.0
GRACE_MIN_S = 30.0
SILENT_FAILURES = 3
LOOKBACK_INTERVALS = 3
#: A run this early before its fire still counts for it (clock skew between processes).
EARLY_S = 60.0
_TZ = re.compile(r"^(?:CRON_TZ|TZ)=(\S+)\s+")


@dataclasses.dataclass(frozen=True)
class Finding:
    skill_id: str
    kind: str  # missed | late | failing
    at: float  # the fire (missed, late) or the first failed run's start (failing)
    detail: str

    @property
    def key(self) -> str:
        return f"watchdog:{self.skill_id}:{self.kind}:{int(self.at)}"

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "key": self.key}


def _schedule(cron: str) -> tuple[str, zoneinfo.ZoneInfo]:
    match = _TZ.match(cron)
    if match:
        return cron[match.end() :], zoneinfo.ZoneInfo(match[1])
    return cron, zoneinfo.ZoneInfo("UTC")


def expected_fires(cron: str, since: float, until: float) -> list[float]:
    """Fire times in (since, until]."""
    fields, tz = _schedule(cron)
    it = croniter(fields, datetime.datetime.fromtimestamp(since, tz))
    out: list[float] = []
    while True:
        at = float(it.get_next(float))
        if at > until:
            return out
        out.append(at)


def interval_s(cron: str, around: float) -> float:
    fires = expected_fires(cron, around, around + 40 * 86_400)[:2]
    return fires[1] - fires[0] if len(fires) == 2 else 86_400.0


def grace_s(interval: float) -> float:
    return max(GRACE_MIN_S, min(interval / 2, GRACE_MAX_S))


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check(skill_id: str, cron: str, runs: Sequence[Any], now: float) -> list[Finding]:
    """Findings for one skill; ``runs`` are its cron runs of the last few intervals."""
    interval = interval_s(cron, now - 2 * 86_400)
    grace = grace_s(interval)
    since = now - LOOKBACK_INTERVALS * interval - grace
    starts = sorted(r.started_at for r in runs if r.trigger == "cron")
    findings = []
    for fire in expected_fires(cron, since, now - grace):
        hit = [s for s in starts if fire - EARLY_S <= s < fire + interval - EARLY_S]
        if not hit:
            findings.append(
                Finding(
                    skill_id,
                    "missed",
                    fire,
                    f"{skill_id} did not run at {_iso(fire)} ({cron}); paused, or its "
                    f"trigger lost?",
                )
            )
        elif hit[0] > fire + grace:
            findings.append(
                Finding(
                    skill_id,
                    "late",
                    fire,
                    f"{skill_id} started {hit[0] - fire:.0f} s after its {_iso(fire)} fire "
                    f"(grace {grace:.0f} s)",
                )
            )
    finished = sorted((r for r in runs if r.status != "running"), key=lambda r: r.started_at)
    last = finished[-SILENT_FAILURES:]
    if len(last) == SILENT_FAILURES and all(r.status == "failed" for r in last):
        first = last[0]
        findings.append(
            Finding(
                skill_id,
                "failing",
                first.started_at,
                f"{skill_id} failed its last {SILENT_FAILURES} runs since "
                f"{_iso(first.started_at)}: {last[-1].error_message or last[-1].error_code}",
            )
        )
    return findings


def cron_skills(ledger: Any, now: float, horizon_s: float = 2 * 86_400) -> dict[str, str]:
    """{skill id: cron expression} of every skill with a cron run in the horizon."""
    out: dict[str, str] = {}
    for skill_id in ledger.skills_seen():
        for run in ledger.runs(skill=skill_id, since=now - horizon_s, until=now + 1, limit=20):
            if run.trigger == "cron" and run.cron:
                out[skill_id] = run.cron
                break
    return out


def watch(ledger: Any, now: float, exclude: frozenset[str] = frozenset()) -> list[Finding]:
    findings = []
    for skill_id, cron in sorted(cron_skills(ledger, now).items()):
        if skill_id in exclude:
            continue
        interval = interval_s(cron, now - 2 * 86_400)
        since = now - (LOOKBACK_INTERVALS + 2) * interval
        runs = ledger.runs(skill=skill_id, since=since, until=now + 1, limit=1000)
        findings += check(skill_id, cron, runs, now)
    return findings
