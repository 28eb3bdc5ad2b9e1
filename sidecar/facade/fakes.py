"""Fake capability backends for the dry run: canned answers, optional injected faults.

Every method returns plausible data of the documented shape, so a skill's happy path runs end
to end. ``fixtures`` replaces the answer of one method (key ``"metrics.query"``); ``faults``
makes a method (``"llm.classify"``) or a whole capability (``"llm"``) raise one of the skill
errors by name (``"LLMUnavailable"``), which is how tests prove a fallback path works.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping

from .capabilities import CapabilityBackends
from .errors import SKILL_ERRORS
from .payload import JSON

_ERRORS = {cls.__name__: cls for cls in SKILL_ERRORS}
#: Midnight UTC, 2024-01-01: fake timestamps are fixed so dry runs are reproducible.
_EPOCH = 1_704_067_200


class FakeCapabilities:
    """Canned answers and injected faults shared by the fake backends."""

    def __init__(
        self, fixtures: Mapping[str, JSON] | None = None, faults: Mapping[str, str] | None = None
    ) -> None:
        # A fault is an error name, optionally with its message: "LLMUnavailable: no LLM ...".
        names = [fault.partition(": ")[0] for fault in (faults or {}).values()]
        unknown = [name for name in names if name not in _ERRORS]
        if unknown:
            raise ValueError(f"unknown fault error names {unknown}; use one of {sorted(_ERRORS)}")
        self.fixtures = dict(fixtures or {})
        self.faults = dict(faults or {})

    def answer(self, key: str, default: JSON) -> JSON:
        capability = key.split(".", 1)[0]
        fault = self.faults.get(key) or self.faults.get(capability)
        if fault:
            name, _, message = fault.partition(": ")
            raise _ERRORS[name](message or f"injected fault for {key}")
        return copy.deepcopy(self.fixtures.get(key, default))

    def backends(self) -> CapabilityBackends:
        return CapabilityBackends(
            metrics=FakeMetrics(self),
            deploys=FakeDeploys(self),
            notify=FakeNotify(self),
            llm=FakeLLM(self),
            http=FakeHttp(self),
            incidents=FakeIncidents(self),
            ledger=FakeLedger(self),
        )


class FakeMetrics:
    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def query(self, promql: str, *, source: str) -> JSON:
        return self._fake.answer("metrics.query", [{"labels": {"service": "demo"}, "value": 0.12}])

    def query_range(self, promql: str, *, source: str, minutes: int, step_seconds: int) -> JSON:
        points = max(1, min(int(minutes * 60 / max(step_seconds, 1)), 120))
        values = [
            [_EPOCH + i * step_seconds, round(0.1 + (i % 5) * 0.01, 4)] for i in range(points)
        ]
        return self._fake.answer(
            "metrics.query_range", [{"labels": {"service": "demo"}, "values": values}]
        )

    def host(self) -> JSON:
        return self._fake.answer(
            "metrics.host", {"cpu_percent": 12.5, "memory_percent": 41.0, "disk_percent": 57.0}
        )


class FakeDeploys:
    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def recent(self, *, source: str, service: str | None, hours: float) -> JSON:
        deploy = {
            "service": service or "demo",
            "version": "1.4.2",
            "at": "2024-01-01T00:00:00+00:00",
            "author": "dry-run",
            "description": "dry-run deploy",
        }
        return self._fake.answer("deploys.recent", [deploy])


class FakeNotify:
    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        return self._fake.answer(
            "notify.post",
            {"channel": channel, "message_id": dedupe_key, "thread": thread or dedupe_key},
        )


class FakeLLM:
    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def classify(
        self, text: str, *, labels: list[str], instructions: str | None, budget_usd: float
    ) -> JSON:
        label = labels[0] if labels else ""
        return self._fake.answer("llm.classify", {"label": label, "reason": "dry run", "usd": 0.0})

    def complete(
        self, prompt: str, *, system: str | None, max_tokens: int, budget_usd: float
    ) -> JSON:
        return self._fake.answer("llm.complete", {"text": "dry run", "usd": 0.0})


class FakeHttp:
    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def get(self, url: str, *, params: dict[str, str], timeout_seconds: float) -> JSON:
        return self._fake.answer(
            "http.get", {"status": 200, "headers": {}, "text": "", "json": None}
        )


class FakeIncidents:
    """The dry run's incidents: a fresh platform, where every bad check opens an incident (so
    a dry run walks the path that posts and emits) and a normal one changes nothing."""

    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def observe(
        self,
        service: str,
        *,
        label: str,
        signals: list[str],
        reason: str,
        onset: float,
        checked_at: float,
    ) -> JSON:
        opened = label != "normal"
        bucket = int(onset // 600 * 600)  # as the platform names incidents (lifecycle.py)
        stamp = datetime.datetime.fromtimestamp(bucket, datetime.UTC).strftime("%Y%m%dT%H%MZ")
        incident = {
            "id": f"{service}-{stamp}",
            "state": "open",
            "severity": label,
            "signals": sorted(set(signals)),
            "onset": onset,
            "revision": 1,
            "reopened": 0,
            "open_minutes": round(max(0.0, checked_at - onset) / 60, 1),
        }
        return self._fake.answer(
            "incidents.observe",
            {
                "action": "opened" if opened else "none",
                "silenced": False,
                "retriage": False,
                "new_signals": incident["signals"] if opened else [],
                "previous_severity": None,
                "incident": incident if opened else None,
            },
        )


class FakeLedger:
    """The dry run's ledger: no cron skills and no runs, unless fixtures give them.

    ``ledger.cron_skills`` is the list of schedules; ``ledger.runs`` and ``ledger.fires`` map a
    skill id to its runs (``started_at``, ``status``...) and fire times, which the fake filters
    to the window asked for. Without ``ledger.fires``, a skill fires every
    ``interval_seconds`` on the epoch's grid from its ``active_since`` (no cron parser here).
    """

    def __init__(self, fake: FakeCapabilities) -> None:
        self._fake = fake

    def cron_skills(self) -> JSON:
        return self._fake.answer("ledger.cron_skills", [])

    def fires(self, skill: str, *, since: float, until: float, function: str | None) -> JSON:
        given = self._fake.answer("ledger.fires", {})
        if isinstance(given, dict) and skill in given:
            return [t for t in given[skill] if since < t <= until]
        schedules = self._fake.answer("ledger.cron_skills", [])
        mine = [s for s in schedules if isinstance(s, dict) and s.get("skill_id") == skill]
        if not mine:
            return []
        interval = float(mine[0]["interval_seconds"])
        start = max(since, float(mine[0].get("active_since") or since))
        first = (start // interval + 1) * interval
        count = max(0, int((until - first) // interval) + 1)
        return [first + n * interval for n in range(min(count, 1000))]

    def runs(
        self, skill: str, *, since: float, until: float, function: str | None, limit: int
    ) -> JSON:
        given = self._fake.answer("ledger.runs", {})
        runs = given.get(skill, []) if isinstance(given, dict) else []
        inside = [r for r in runs if since <= r["started_at"] < until]
        inside.sort(key=lambda r: r["started_at"], reverse=True)
        return {"runs": inside[:limit], "more": len(inside) > limit}
