"""Loop detection: stop a turn that repeats itself instead of making progress.

Three signals, each with an explanation the person can read:

* **repeat** — the same tool with the same arguments, with no change to the world in between
  (a change is a mutating call — ``write_skill``, ``send_event`` — different from the last one);
* **alternation** — A, B, A, B: the last four calls swap between two fingerprints;
* **stale** — ``max_stale`` tool results in a row that were all seen before in this turn.

The state is plain JSON (``to_dict`` / ``from_dict``). The turn rebuilds it from memoized
step results on every replay and stores it with the turn, so detection survives restarts.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from agent.llm.messages import canonical_arguments

MUTATING_TOOLS = frozenset({"write_skill", "send_event"})


def fingerprint(name: str, arguments: str) -> str:
    digest = hashlib.sha256(f"{name}\0{canonical_arguments(arguments)}".encode()).hexdigest()
    return digest[:16]


def result_fingerprint(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class LoopVerdict:
    kind: str  # "repeat" | "alternation" | "stale"
    message: str


@dataclasses.dataclass
class LoopDetector:
    max_stale: int = 3
    #: (tool name, fingerprint) of every call, in order.
    calls: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: Fingerprints seen since the world last changed.
    since_change: list[str] = dataclasses.field(default_factory=list)
    last_mutation: str | None = None
    results_seen: list[str] = dataclasses.field(default_factory=list)
    stale_streak: int = 0

    def check_call(self, name: str, arguments: str) -> LoopVerdict | None:
        """Before running a call: would it repeat or alternate?"""
        fp = fingerprint(name, arguments)
        # A new change to the world is never a repeat: earlier reads may now answer differently.
        changes_world = name in MUTATING_TOOLS and fp != self.last_mutation
        if not changes_world and fp in self.since_change:
            return LoopVerdict(
                "repeat",
                f"{name} was already called with exactly these arguments and nothing has "
                "changed since, so it would return the same result",
            )
        recent = [f for _, f in self.calls[-3:]] + [fp]
        if len(recent) == 4 and recent[0] == recent[2] != recent[1] == recent[3]:
            names = [n for n, _ in self.calls[-3:]] + [name]
            return LoopVerdict(
                "alternation",
                f"the last calls alternate between {names[0]} and {names[1]} "
                "with the same arguments (A, B, A, B)",
            )
        return None

    def record_call(self, name: str, arguments: str) -> None:
        fp = fingerprint(name, arguments)
        if name in MUTATING_TOOLS and fp != self.last_mutation:
            self.since_change = []
            self.last_mutation = fp
        self.calls.append((name, fp))
        self.since_change.append(fp)

    def record_result(self, content: str) -> LoopVerdict | None:
        """After a call: did the result add anything new?"""
        fp = result_fingerprint(content)
        self.stale_streak = self.stale_streak + 1 if fp in self.results_seen else 0
        self.results_seen.append(fp)
        if self.stale_streak >= self.max_stale:
            return LoopVerdict(
                "stale",
                f"the last {self.stale_streak} tool results repeated earlier results "
                "and added no new information",
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopDetector:
        return cls(
            max_stale=int(data.get("max_stale", 3)),
            calls=[(str(n), str(f)) for n, f in data.get("calls", [])],
            since_change=list(data.get("since_change", [])),
            last_mutation=data.get("last_mutation"),
            results_seen=list(data.get("results_seen", [])),
            stale_streak=int(data.get("stale_streak", 0)),
        )
