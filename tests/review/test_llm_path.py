"""Path 2: the scripted model rewrites the health check (over real HTTP, the openai client).

One answer fails validation and is repaired; a rewrite that never validates is dropped, kept
as a rejected proposal with the validator's findings, and never promoted.
"""

from __future__ import annotations

from typing import Any

import pytest

from review import proposals
from review.rewrite import OpenAIRewriter
from review.runner import Review
from skills_core.capabilities.scripted_llm import MODEL, ScriptedLLM
from tests.review._history import DAY, HEALTH_SOURCE, SKILL, START
from tests.review._platform import RecordingPlatform

WEEK4 = START + 28 * DAY
BROKEN = HEALTH_SOURCE.replace("import statistics\n", "import statistics\nimport os\n", 1)
REWRITE = HEALTH_SOURCE.replace(
    "ERROR_RATE_DEGRADED = 0.02  # ... and at least ERROR_RATE_RATIO x the baseline",
    "ERROR_RATE_DEGRADED = 0.04  # raised by the review: 2.5-3.5 % blips were false alarms",
).replace(
    '    return {"signal": signal, "label": label, "hard": hard, "reason": text}',
    '    found = {"signal": signal, "label": label, "hard": hard, "reason": text}\n'
    "    return found",
)


def fenced(source: str) -> str:
    return f"Here is the new version.\n```python\n{source}```\n"


def test_llm_rewrite_is_repaired_once_then_backtested(seeded: Any) -> None:
    platform = RecordingPlatform(SKILL, HEALTH_SOURCE, "health_check.py")
    with ScriptedLLM(fenced(BROKEN), fenced(REWRITE)) as llm:
        review = Review(
            seeded.store,
            seeded.ledger,
            platform,
            rewriter=OpenAIRewriter(llm.base_url, MODEL, "sk-test"),
        )
        data = review.run(WEEK4)
        asks = [r.messages for r in llm.requests]
    rewrite = [p for p in data["proposals"] if p["path"] == "rewrite"]
    assert len(rewrite) == 1, data["proposals"]
    [p] = rewrite
    assert p["state"] == "shadowing", p["backtest"]
    assert p["backtest"]["new_misses"] == []
    assert p["backtest"]["candidate"]["false_alarms"] < p["backtest"]["current"]["false_alarms"]
    assert len(asks) == 2  # the answer, then one repair
    repair = asks[1][-1]["content"]
    assert "failed validation" in repair and "os" in repair
    assert "false-alarm rate" in asks[0][-1]["content"]  # the scorecard is evidence
    assert "no LLM configured" not in data["markdown"]
    stored = proposals.get(seeded.store, p["id"])
    assert stored.source == REWRITE and stored.evidence["rules"]


def test_rewrite_that_never_validates_is_dropped_never_promoted(seeded: Any) -> None:
    platform = RecordingPlatform(SKILL, HEALTH_SOURCE, "health_check.py")
    with ScriptedLLM(fenced(BROKEN), fenced(BROKEN)) as llm:
        review = Review(
            seeded.store,
            seeded.ledger,
            platform,
            rewriter=OpenAIRewriter(llm.base_url, MODEL, "sk-test"),
        )
        data = review.run(WEEK4)
    [p] = [p for p in data["proposals"] if p["path"] == "rewrite"]
    assert p["state"] == "rejected"
    assert "failed validation after 1 repair" in p["backtest"]["verdict"]["reason"]
    assert all(call[0] != "submit" for call in platform.calls)
    assert platform.active == 1
    assert "rewrite" in data["markdown"] and "gate: fail" in data["markdown"]


def test_the_review_role_is_one_of_the_llm_family_and_the_old_names_still_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from review.surfaces import rewriter_from_env

    family = {"LOOPWRIGHT_LLM_BASE_URL": "http://127.0.0.1:9/v1", "LOOPWRIGHT_LLM_MODEL": "m"}
    assert rewriter_from_env({}) is None
    assert rewriter_from_env(family) is not None
    own = {**family, "LOOPWRIGHT_LLM_REVIEW_MODEL": "reviewer"}
    assert isinstance(rewriter := rewriter_from_env(own), OpenAIRewriter)
    assert rewriter.model == "reviewer"
    with caplog.at_level("WARNING", logger="loopwright.config"):
        old = rewriter_from_env({**family, "LOOPWRIGHT_REVIEW_LLM_MODEL": "old-name"})
    assert isinstance(old, OpenAIRewriter) and old.model == "old-name"
    assert (
        "LOOPWRIGHT_REVIEW_LLM_MODEL is deprecated: use LOOPWRIGHT_LLM_REVIEW_MODEL" in caplog.text
    )
