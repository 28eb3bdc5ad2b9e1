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
import contextlib
import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
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


CORE_DIR = Path(__file__).resolve().parents[1] / "skills_core" / "skills"


def shape(source: str) -> str | None:
    """The module's AST with top-level numeric constants blanked (None: does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign) else None
        if isinstance(value, ast.Constant) and type(value.value) in (int, float):
            node.value = ast.Constant(value=0)  # type: ignore[attr-defined]
    return ast.dump(tree, include_attributes=False)


@functools.lru_cache(maxsize=1)
def _core_shapes() -> frozenset[str]:
    found = (shape(p.read_text(encoding="utf-8")) for p in sorted(CORE_DIR.glob("*.py")))
    return frozenset(s for s in found if s is not None)


def trusted(source: str) -> bool:
    """A platform core skill, or one with only its top-level numbers changed (a tuning)."""
    return shape(source) in _core_shapes()


class _Inert:
    """The ``skill`` global while replaying trusted code: decorators pass functions through."""

    def __getattr__(self, name: str) -> _Inert:
        return _Inert()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return _Inert()


class Classifier:
    """A classifier module loaded for replay.

    Code that is not the platform's own runs under RestrictedPython (the validator's compiler
    and loader). A core skill, or a tuning of one (same code, other numbers), is trusted and
    runs as plain Python: three times faster, which the search over 100 sets needs.
    """

    def __init__(self, source: str, filename: str = "skill.py") -> None:
        if trusted(source):
            self.namespace: dict[str, Any] = {"skill": _Inert(), "__name__": "replayed_skill"}
            exec(compile(source, filename, "exec"), self.namespace)
        else:
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

    @contextlib.contextmanager
    def using(self, changes: dict[str, float] | None) -> Iterator[Callable[[Any], str]]:
        """Within the block, the constants are ``changes``; yields label(decision)."""
        rules = self.namespace["classify_rules"]
        saved = {k: self.namespace[k] for k in changes or {}}
        self.namespace.update(changes or {})

        def label(d: Any) -> str:
            verdict = rules(d.features)
            if d.decided_by == "rules":
                return str(verdict["label"])
            floor = str(verdict.get("floor", "normal"))
            return str(max(d.label or "normal", floor, key=lambda x: SEVERITY.get(x, 0)))

        try:
            yield label
        finally:
            self.namespace.update(saved)

    def labels(
        self, decisions: Sequence[Any], changes: dict[str, float] | None = None
    ) -> list[str]:
        with self.using(changes) as label:
            return [label(d) for d in decisions]


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
    caught_now = set(current.caught)
    incidents: dict[str, list[Any]] = {}
    negatives: list[tuple[Any, float]] = []
    for d, t in zip(decisions, truths, strict=True):
        if t is None:
            continue
        if t.incident:
            incidents.setdefault(t.key, []).append(d)
        else:
            negatives.append((d, t.weight))
    # Incidents the current version caught first: a candidate that misses one stops there.
    ordered = sorted(incidents.items(), key=lambda kv: kv[0] not in caught_now)
    sets = candidates(classifier.constants, limit)
    best: tuple[tuple[float, ...], dict[str, float]] | None = None
    for n, changes in enumerate(sets, 1):
        if progress:
            progress(n, len(sets))
        bound = current.false_alarms if best is None else min(current.false_alarms, best[0][0])
        found = _bounded(classifier, changes, ordered, caught_now, negatives, bound)
        if found is None:
            continue
        false_alarms, caught = found
        if false_alarms >= current.false_alarms:
            continue  # no better than what runs now
        rank = (
            false_alarms,
            -float(caught),
            float(len(changes)),
            sum(abs(v / classifier.constants[k] - 1) for k, v in changes.items()),
        )
        if best is None or rank < best[0]:
            best = (rank, changes)
    if best is None:
        return None
    candidate = score(classifier.labels(decisions, best[1]), truths)
    return TuningResult(best[1], Comparison(current, candidate), len(sets), fidelity)


def _bounded(
    classifier: Classifier,
    changes: dict[str, float],
    incidents: list[tuple[str, list[Any]]],
    caught_now: set[str],
    negatives: list[tuple[Any, float]],
    bound: float,
) -> tuple[float, int] | None:
    """(false alarms, incidents caught) of one candidate, or None as soon as it cannot win:
    it misses an incident the current version caught, or its false alarms pass ``bound``
    (the current version's, or the best candidate's so far)."""
    with classifier.using(changes) as label:
        caught = 0
        for key, items in incidents:
            hit = any(label(d) != "normal" for d in items)
            if not hit and key in caught_now:
                return None
            caught += hit
        false_alarms = 0.0
        for d, weight in negatives:
            if label(d) != "normal":
                false_alarms += weight
                if false_alarms > bound:
                    return None
    return false_alarms, caught


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
