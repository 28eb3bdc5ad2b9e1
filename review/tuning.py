"""Path 1, tuning without an LLM: search a classifier's module constants against its record.

The contract a tunable skill keeps (the core health check does): a module-level
``classify_rules(features) -> {"label": ..., "floor": ...}`` and its thresholds as numeric
UPPER_CASE module constants. The module is loaded under RestrictedPython (the validator's
compiler and loader), so replaying it runs no I/O and holds no capability; constants are
swapped in its namespace for each candidate.

Replay rule per decision: a decision the rules made is replayed with the candidate's rules; a
decision the LLM made keeps its label, raised to the candidate's hard floor (constants change
only the rules; the LLM is not re-asked). The current version is *replayed* the same way, so a
comparison isolates the constants; how often the replay reproduces the recorded labels is
reported as the replay's fidelity.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from sidecar.validation.compile import restricted_compile
from sidecar.validation.loader import load

from .backtest import Comparison, score
from .outcomes import Truth

TUNABLE = re.compile(
    r"(_DEGRADED|_CRITICAL|_RATIO|_FLOOR|_DELTA_SECONDS|^MIN_ERRORS)$|^MIN_ERRORS$"
)
FACTORS = (0.5, 0.75, 1.25, 1.5, 2.0, 3.0)
MAX_CANDIDATES = 100
SEVERITY = {"normal": 0, "degraded": 1, "critical": 2}


class NotTunable(Exception):
    """The skill does not keep the tuning contract (the message says what is missing)."""


class Classifier:
    def __init__(self, source: str, filename: str = "skill.py") -> None:
        code, findings = restricted_compile(source, filename)
        if code is None:
            raise NotTunable(f"{filename} does not compile: {findings[0].message}")
        loaded, findings = load(code, filename)
        if loaded is None:
            raise NotTunable(f"{filename} does not load: {findings[0].message}")
        self.namespace = loaded.namespace
        if not callable(self.namespace.get("classify_rules")):
            raise NotTunable(f"{filename} has no module-level classify_rules(features)")
        self.constants = {
            name: value
            for name, value in self.namespace.items()
            if TUNABLE.search(name)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        }
        if not self.constants:
            raise NotTunable(f"{filename} keeps no tunable numeric threshold constants")

    def labels(
        self, decisions: Sequence[Any], changes: dict[str, float] | None = None
    ) -> list[str]:
        rules = self.namespace["classify_rules"]
        saved = {k: self.namespace[k] for k in changes or {}}
        self.namespace.update(changes or {})
        try:
            out = []
            for d in decisions:
                verdict = rules(d.features)
                if d.decided_by == "rules":
                    out.append(str(verdict["label"]))
                else:
                    floor = str(verdict.get("floor", "normal"))
                    out.append(max(d.label, floor, key=lambda x: SEVERITY.get(x, 0)))
            return out
        finally:
            self.namespace.update(saved)


def candidates(constants: dict[str, float], limit: int = MAX_CANDIDATES) -> list[dict[str, float]]:
    """Single-constant moves first, then pairs, up to ``limit`` sets."""
    singles = [
        {name: _same_type(value, value * f)}
        for name, value in sorted(constants.items())
        for f in FACTORS
    ]
    out = singles[:limit]
    for a, b in itertools.combinations(singles, 2):
        if len(out) >= limit:
            break
        if set(a) != set(b):
            out.append({**a, **b})
    return out


def _same_type(old: float, new: float) -> float:
    return round(new) if isinstance(old, int) else round(new, 6)


@dataclasses.dataclass(frozen=True)
class TuningResult:
    changes: dict[str, float]
    comparison: Comparison
    tried: int
    fidelity: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "tried": self.tried,
            "fidelity": self.fidelity,
            **self.comparison.to_json(),
        }


def search(
    classifier: Classifier,
    decisions: Sequence[Any],
    truths: Sequence[Truth | None],
    limit: int = MAX_CANDIDATES,
    progress: Callable[[int, int], None] | None = None,
) -> TuningResult | None:
    """The best candidate that lowers false alarms without any new miss, or None.

    Only decisions with a truth can change a score, so the search replays those; the best
    candidate is then replayed on every decision for its alert count.
    """
    current_labels = classifier.labels(decisions)
    current = score(current_labels, truths)
    same = sum(a == d.label for a, d in zip(current_labels, decisions, strict=True))
    fidelity = same / len(decisions) if decisions else None
    judged = [i for i, t in enumerate(truths) if t is not None]
    sub_decisions = [decisions[i] for i in judged]
    sub_truths = [truths[i] for i in judged]
    sub_current = score([current_labels[i] for i in judged], sub_truths)
    sets = candidates(classifier.constants, limit)
    best: tuple[tuple[float, ...], dict[str, float]] | None = None
    for n, changes in enumerate(sets, 1):
        sub = Comparison(sub_current, score(classifier.labels(sub_decisions, changes), sub_truths))
        if progress:
            progress(n, len(sets))
        if sub.new_misses or sub.candidate.false_alarms >= sub_current.false_alarms:
            continue
        rank = (
            sub.candidate.false_alarms,
            -len(sub.candidate.caught),
            float(len(changes)),
            sum(abs(v / classifier.constants[k] - 1) for k, v in changes.items()),
        )
        if best is None or rank < best[0]:
            best = (rank, changes)
    if best is None:
        return None
    candidate = score(classifier.labels(decisions, best[1]), truths)
    return TuningResult(best[1], Comparison(current, candidate), len(sets), fidelity)


def rewrite_constants(source: str, changes: dict[str, float]) -> str:
    """The source with each constant's value replaced, comments and layout kept."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    done: set[str] = set()
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Name) and target.id in changes):
            continue
        value = node.value
        if value.lineno != value.end_lineno:
            raise NotTunable(f"{target.id} spans lines; cannot rewrite it")
        i = value.lineno - 1
        line = lines[i]
        lines[i] = (
            line[: value.col_offset] + repr(changes[target.id]) + line[value.end_col_offset :]
        )
        done.add(target.id)
    missing = set(changes) - done
    if missing:
        raise NotTunable(f"constants not found as simple assignments: {sorted(missing)}")
    return "".join(lines)
