"""Path 2, rewrite with the LLM: the skill's source, scorecard and worst runs as evidence.

The model answers with a whole new version of the skill file. It is validated by the sidecar
like any skill (``POST /v1/validate``); a failing one gets one repair round with the findings,
and is dropped (kept as a ``rejected`` proposal with the reason, never promoted) if it still
fails. A valid rewrite is backtested like a tuning candidate when it keeps the tuning
contract (``classify_rules``); otherwise it is rejected as not measurable.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Protocol

from skills_core.capabilities.llm.kill_switch import check_allowed

from .backtest import Comparison, score
from .gate import Verdict, backtest_verdict
from .platform import SkillSource
from .tuning import Classifier, NotTunable

if TYPE_CHECKING:
    from .runner import Review
    from .selection import Pick

MAX_REPAIRS = 1
WORST_RUNS = 5
SYSTEM = (
    "You improve an Inngest skill of the Loopwright platform. Answer with the complete new "
    "skill file in one ```python block. Keep MANIFEST (id, triggers, capabilities), keep the "
    "function ids, keep classify_rules(features) and the thresholds as module constants. "
    "Change only what the evidence asks for; a true incident must never be missed."
)


class Rewriter(Protocol):
    def complete(self, system: str, prompt: str) -> str: ...


class Validator(Protocol):
    def validate(self, source: str, filename: str) -> dict[str, Any]: ...


class OpenAIRewriter:
    """An OpenAI-compatible endpoint (the scripted server in tests), behind the kill switch."""

    def __init__(
        self, base_url: str, model: str, api_key: str = "none", timeout_s: float = 120.0
    ) -> None:
        import openai

        check_allowed(base_url)
        self.model = model
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s)

    def complete(self, system: str, prompt: str) -> str:
        answer = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
        )
        return answer.choices[0].message.content or ""


def extract_source(answer: str) -> str:
    blocks = re.findall(r"```(?:python)?\n(.*?)```", answer, flags=re.S)
    return (max(blocks, key=len) if blocks else answer).strip() + "\n"


def evidence_prompt(pick: Pick, active: SkillSource, worst: list[dict[str, Any]]) -> str:
    return (
        f"Skill {pick.skill_id} v{active.version} was picked by the weekly review because: "
        f"{'; '.join(pick.rules)}.\n\nScorecard:\n{json.dumps(pick.evidence, indent=1)}\n\n"
        f"Worst decisions (labelled wrong by people):\n{json.dumps(worst, indent=1)}\n\n"
        f"Current source ({active.filename}):\n```python\n{active.source}```\n"
    )


def propose_rewrite(
    review: Review,
    pick: Pick,
    active: SkillSource,
    decisions: list[Any],
    since: float,
    until: float,
    report_id: str,
    dry_run: bool,
) -> list[dict[str, Any]]:
    assert review.rewriter is not None
    validator: Validator | None = review.platform if hasattr(review.platform, "validate") else None  # type: ignore[assignment]
    truths = review.truths_for(decisions, since, until)
    worst = [
        {"run_id": d.run_id, "subject": d.subject, "label": d.label, "features": d.features}
        for d, t in zip(decisions, truths, strict=True)
        if t is not None and ((d.label or "normal") != "normal") != t.incident
    ][:WORST_RUNS]
    prompt = evidence_prompt(pick, active, worst)
    source, problems = "", "no answer"
    for _attempt in range(1 + MAX_REPAIRS):
        source = extract_source(review.rewriter.complete(SYSTEM, prompt))
        problems = _problems(validator, source, active.filename)
        if not problems:
            break
        prompt += (
            f"\n\nYour answer failed validation:\n{problems}\nAnswer again with the "
            "whole corrected file."
        )
    verdict: Verdict
    backtest: dict[str, Any] = {}
    if problems:
        verdict = Verdict(False, f"failed validation after {MAX_REPAIRS} repair(s): {problems}")
    else:
        try:
            comparison = Comparison(
                score(Classifier(active.source, active.filename).labels(decisions), truths),
                score(Classifier(source, active.filename).labels(decisions), truths),
            )
            backtest = comparison.to_json()
            verdict = backtest_verdict(comparison)
        except NotTunable as err:
            verdict = Verdict(False, f"rewrite cannot be backtested: {err}")
    made = review.record_proposal(
        pick,
        active.version,
        "rewrite",
        source,
        {"rewrite": True},
        f"{'; '.join(pick.rules)}; LLM rewrite",
        backtest,
        verdict,
        until,
        report_id,
        dry_run,
    )
    return [made]


def _problems(validator: Validator | None, source: str, filename: str) -> str:
    if validator is None:
        return "no sidecar to validate with"
    report = validator.validate(source, filename)
    if report.get("ok"):
        return ""
    findings = report.get("findings") or []
    lines = [f"- {f.get('rule_id')}: {f.get('message')} (line {f.get('line')})" for f in findings]
    return "\n".join(lines[:10]) or "validation failed"
