"""The critic gate: a second opinion on a validated skill before it is proposed.

A critic model (a different model from the generator by default) scores the skill from 0 to
1 on each rubric criterion. The skill passes when the mean reaches the bar and no hard
criterion (determinism, safety) is below one half. Below the bar the generator gets one
revision round with the critic's notes; after that the skill is proposed with the concerns
stated, for the person reviewing it. When the critic model is missing, fails or answers
something unreadable, ``rule_based_review`` scores what static checks can see.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

RUBRIC: dict[str, str] = {
    "meets_requirement": "does what the person asked, for the services and signals they named",
    "deterministic": "code outside steps takes the same path on every replay",
    "safe": "least privilege: grants only what it uses, posts only where it should",
    "llm_fallback": "where it uses the LLM, a rule-based fallback handles skill.LLMError",
    "schedule_cost": "a sane schedule and bounded cost (not every minute, small LLM budget)",
}
HARD_CRITERIA = ("deterministic", "safe")

Decision = Literal["accept", "revise", "concerns"]


@dataclasses.dataclass(frozen=True)
class CriticVerdict:
    scores: dict[str, float]
    notes: tuple[str, ...] = ()
    source: str = "model"  # "model" | "rules"

    @property
    def score(self) -> float:
        return sum(self.scores.values()) / len(self.scores) if self.scores else 0.0

    def passed(self, bar: float) -> bool:
        hard_ok = all(self.scores.get(c, 0.0) >= 0.5 for c in HARD_CRITERIA)
        return self.score >= bar and hard_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(sorted(self.scores.items())),
            "notes": list(self.notes),
            "source": self.source,
            "score": round(self.score, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CriticVerdict:
        return cls(
            scores={str(k): float(v) for k, v in (data.get("scores") or {}).items()},
            notes=tuple(str(n) for n in data.get("notes") or ()),
            source=str(data.get("source", "model")),
        )


def parse_verdict(text: str) -> CriticVerdict | None:
    """Read ``{"scores": {...}, "notes": [...]}`` from the critic's reply, leniently."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    raw = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return None
    scores: dict[str, float] = {}
    notes = [str(n) for n in data.get("notes") or () if str(n).strip()]
    for criterion in RUBRIC:
        value = raw.get(criterion)
        if isinstance(value, bool) or not isinstance(value, int | float):
            scores[criterion] = 0.5
            notes.append(f"{criterion} was not scored")
            continue
        number = float(value)
        if number > 1.0:  # a 0-10 (or 0-5) scale despite the instructions
            number = number / 10.0 if number <= 10.0 else 1.0
        scores[criterion] = min(max(number, 0.0), 1.0)
    return CriticVerdict(scores=scores, notes=tuple(notes[:10]), source="model")


def rule_based_review(source: str, manifest: Mapping[str, Any] | None) -> CriticVerdict:
    """What static checks can judge; the requirement itself is left at a neutral 0.7."""
    manifest = manifest or {}
    caps = manifest.get("capabilities") or {}
    notes: list[str] = ["reviewed by rules: the critic model was unavailable"]
    uses_llm = bool(caps.get("llm"))
    has_fallback = bool(re.search(r"except\s+\(?\s*skill\.LLM(Error|Unavailable|Timeout)", source))
    llm_fallback = 1.0 if not uses_llm or has_fallback else 0.0
    if uses_llm and not has_fallback:
        notes.append("uses the LLM but never catches skill.LLMError")
    safe = 0.8 if caps.get("http") else 1.0
    schedule = 1.0
    for trigger in manifest.get("triggers") or ():
        cron = str(trigger.get("cron") or "")
        fields = cron.split()[-5:] if cron else []
        if fields and fields[0] in ("*", "*/1"):
            schedule = 0.4
            notes.append(f"cron {cron!r} runs every minute")
    llm_week = float((caps.get("llm") or {}).get("per_week_usd", 0) or 0)
    if llm_week > 5:
        schedule = min(schedule, 0.6)
        notes.append(f"LLM budget of ${llm_week}/week is high")
    return CriticVerdict(
        scores={
            "meets_requirement": 0.7,
            "deterministic": 1.0,  # it passed validation, which checks the replay rules
            "safe": safe,
            "llm_fallback": llm_fallback,
            "schedule_cost": schedule,
        },
        notes=tuple(notes),
        source="rules",
    )


@dataclasses.dataclass
class CriticGate:
    bar: float = 0.7
    max_revisions: int = 1
    revisions: int = 0
    #: Skill versions already reviewed ("id@version" or "id#sha").
    reviewed: list[str] = dataclasses.field(default_factory=list)
    last: dict[str, Any] | None = None

    def needs_review(self, ref: str | None) -> bool:
        return ref is not None and ref not in self.reviewed

    def decide(self, ref: str, verdict: CriticVerdict) -> Decision:
        self.reviewed.append(ref)
        self.last = verdict.to_dict()
        if verdict.passed(self.bar):
            return "accept"
        if self.revisions < self.max_revisions:
            self.revisions += 1
            return "revise"
        return "concerns"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriticGate:
        return cls(**data)


def describe(verdict: CriticVerdict) -> str:
    scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(verdict.scores.items()))
    notes = "\n".join(f"- {n}" for n in verdict.notes) or "- (no notes)"
    return f"score {verdict.score:.2f} ({scores})\n{notes}"
