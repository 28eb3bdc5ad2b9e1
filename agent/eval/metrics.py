"""Eval figures: per-run score, success, tool-call accuracy, and stability (ICIR).

A run scores 0.4 when the skill validated, 0.3 when its dry run passed, and 0.3 times the
fraction of scenario checks that hold; it succeeds when all three are complete. ICIR is the
mean of the per-run scores divided by their standard deviation: high means the agent does
about as well every time; None when every run scored the same (no spread to divide by).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from typing import Any

BAD_CALL_CODES = frozenset({"tool-unknown", "tool-args-invalid"})


@dataclasses.dataclass(frozen=True)
class RunResult:
    scenario: str
    run: int
    validated: bool
    dry_run_ok: bool
    checks: dict[str, bool]
    tool_calls: int
    bad_tool_calls: int
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    reason: str

    @property
    def checks_ratio(self) -> float:
        return sum(self.checks.values()) / len(self.checks) if self.checks else 0.0

    @property
    def score(self) -> float:
        return 0.4 * self.validated + 0.3 * self.dry_run_ok + 0.3 * self.checks_ratio

    @property
    def success(self) -> bool:
        return self.validated and self.dry_run_ok and self.checks_ratio == 1.0


def icir(scores: Sequence[float]) -> float | None:
    if len(scores) < 2:
        return None
    spread = statistics.stdev(scores)
    return None if spread == 0 else statistics.fmean(scores) / spread


def summarize(results: Sequence[RunResult]) -> dict[str, Any]:
    if not results:
        return {"runs": 0}
    calls = sum(r.tool_calls for r in results)
    scores = [r.score for r in results]
    return {
        "runs": len(results),
        "success_rate": sum(r.success for r in results) / len(results),
        "validated_rate": sum(r.validated for r in results) / len(results),
        "tool_call_accuracy": (1 - sum(r.bad_tool_calls for r in results) / calls)
        if calls
        else None,
        "mean_score": statistics.fmean(scores),
        "icir": icir(scores),
        "latency_s_mean": statistics.fmean(r.latency_s for r in results),
        "latency_s_max": max(r.latency_s for r in results),
        "input_tokens": sum(r.input_tokens for r in results),
        "output_tokens": sum(r.output_tokens for r in results),
        "cost_usd": sum(r.cost_usd for r in results),
    }
