"""Eval scenarios (a data file) and the checks each one makes on the skill the agent left."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from agent.loop.critic import rule_based_review

SCENARIOS_FILE = Path(__file__).with_name("scenarios.json")


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    requirement: str
    expect: dict[str, Any]
    event: dict[str, Any] | None = None

    def checks(self, manifest: dict[str, Any] | None, source: str) -> dict[str, bool]:
        """Each expectation, held or not; an absent skill holds none."""
        manifest = manifest or {}
        caps = manifest.get("capabilities") or {}
        triggers = manifest.get("triggers") or []
        kinds = {"cron" if t.get("cron") else "event" for t in triggers}
        want = self.expect.get("trigger", "any")
        out = {"trigger": bool(kinds) and (want == "any" or want in kinds)}
        for capability in self.expect.get("capabilities", []):
            out[f"grants {capability}"] = bool(caps.get(capability))
        review = rule_based_review(source, manifest) if manifest else None
        out["llm fallback"] = review is not None and review.scores["llm_fallback"] == 1.0
        out["sane schedule"] = review is not None and review.scores["schedule_cost"] >= 0.6
        return out


def load(path: Path = SCENARIOS_FILE, names: tuple[str, ...] = ()) -> list[Scenario]:
    data = json.loads(path.read_text(encoding="utf-8"))
    scenarios = [
        Scenario(
            name=s["name"],
            kind=s.get("kind", ""),
            requirement=s["requirement"],
            expect=s.get("expect", {}),
            event=s.get("event"),
        )
        for s in data["scenarios"]
    ]
    if names:
        unknown = set(names) - {s.name for s in scenarios}
        if unknown:
            raise ValueError(f"unknown scenario(s) {sorted(unknown)}; see {path}")
        scenarios = [s for s in scenarios if s.name in names]
    return scenarios
