"""``loopwright eval``: every scenario, N times, against the configured LLM.

Runs are in process (``Runtime.run_inline``), offline — skills are validated locally and
never registered, no event reaches the platform — in a throwaway database, so an eval
leaves nothing behind but its report.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.config import AgentSettings
from agent.llm import ModelRoles
from agent.runtime import Runtime

from .metrics import BAD_CALL_CODES, RunResult, summarize
from .scenarios import Scenario


def run_eval(
    settings: AgentSettings,
    scenarios: list[Scenario],
    runs: int,
    *,
    models: ModelRoles | None = None,
    progress: Callable[[RunResult], None] | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="loopwright-eval-") as tmp:
        # Everything (conversations, costs) in the throwaway folder, never the real store.
        service = dataclasses.replace(settings.service, db_path=Path(tmp) / "eval.db", store_url="")
        runtime = Runtime.build(
            dataclasses.replace(settings, service=service), models=models, offline=True
        )
        try:
            results = []
            for scenario in scenarios:
                for n in range(runs):
                    result = run_once(runtime, scenario, n)
                    results.append(result)
                    if progress is not None:
                        progress(result)
        finally:
            runtime.close()
    per_scenario = {
        s.name: summarize([r for r in results if r.scenario == s.name]) for s in scenarios
    }
    return {
        "overall": summarize(results),
        "scenarios": per_scenario,
        "runs": [dataclasses.asdict(r) | {"score": r.score, "success": r.success} for r in results],
    }


def run_once(runtime: Runtime, scenario: Scenario, n: int) -> RunResult:
    started = time.monotonic()
    outcome = runtime.run_inline(scenario.requirement)
    latency = time.monotonic() - started
    skill = outcome.get("skill") or {}
    skill_id = skill.get("id")
    source = runtime.store.get_draft(skill_id) if skill_id else None
    dry_ok = False
    if source and skill_id:
        from sidecar.validation import dry_run

        filename = str(skill_id).replace("-", "_") + ".py"
        dry_ok = dry_run(source, filename, str(skill_id), scenario.event).ok
    calls = runtime.store.conversation(outcome["conversation_id"])["tool_calls"]
    bad = sum(1 for c in calls if c["result"].get("error_code") in BAD_CALL_CODES)
    return RunResult(
        scenario=scenario.name,
        run=n,
        validated=bool(skill),
        dry_run_ok=dry_ok,
        checks=scenario.checks(skill.get("manifest"), source or ""),
        tool_calls=len(calls),
        bad_tool_calls=bad,
        latency_s=round(latency, 3),
        input_tokens=int(outcome.get("input_tokens", 0)),
        output_tokens=int(outcome.get("output_tokens", 0)),
        cost_usd=float(outcome.get("cost_usd", 0.0)),
        reason=str(outcome["reason"]),
    )
