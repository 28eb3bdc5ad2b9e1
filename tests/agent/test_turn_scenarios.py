"""The turn, in process: repair, loop detection, budgets, the critic, compaction, caps.

Models are the in-process scripted model; steps run inline or replayed like the engine does
(``ReplaySteps``). The same behaviours over real HTTP and a real engine are in
``test_durable.py``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.durable import InlineSteps
from agent.llm.messages import canonical_json
from agent.testing.replay import ReplaySteps
from agent.testing.script import Call, Script, call, calls, say
from agent.testing.sidecar_double import SidecarDouble
from agent.turn import Turn
from tests.agent._harness import critic_json, runtime_for
from tests.agent.skills import BROKEN, BROKEN_AGAIN, GOOD, REVISED, STILL_BROKEN

REQUIREMENT = "our services have latency spikes overnight and nobody notices"


@pytest.fixture
def sidecar() -> Iterator[SidecarDouble]:
    with SidecarDouble() as double:
        yield double


def write(source: str) -> Call:
    return Call("write_skill", {"id": "latency-watch", "source": source})


def repair_script(critic: tuple[str, ...] = (critic_json(0.9),)) -> Script:
    return Script(
        agent=[
            call("skill_guide", topic="workflow"),
            calls(write(BROKEN)),
            calls(write(GOOD), text="Fixing both findings."),
            call("test_skill", id="latency-watch"),
            say("latency-watch checks p95 every 30 minutes and posts to the inbox."),
        ],
        critic=critic,
    )


def test_requirement_to_registered_skill_with_one_repair(
    tmp_path: Path, sidecar: SidecarDouble
) -> None:
    runtime, models = runtime_for(tmp_path, repair_script(), LOOPWRIGHT_SIDECAR_URL=sidecar.url)
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "answered"
    assert outcome["reply"].startswith("latency-watch checks p95")
    assert outcome["repairs"] == 1
    skill = outcome["skill"]
    assert skill["ref"] == "latency-watch@2" and skill["registered"]
    assert skill["facts"]["triggers"] == ["cron TZ=Europe/Paris */30 * * * *"]
    assert outcome["critic"]["decision"] == "accept"
    assert len(models.agent.requests) == 5 and len(models.critic.requests) == 1
    # the failed report reached the model with every finding and the repair note
    tool_message = models.agent.requests[2].messages[-1]
    assert "import-not-allowed" in tool_message["content"]
    assert "nondeterministic-call" in tool_message["content"]
    assert "Repair round 1 of 2" in tool_message["content"]
    writes = [r for r in sidecar.requests if r[1].endswith("/versions")]
    tests = [r for r in sidecar.requests if r[1].endswith("/test")]
    assert len(writes) == 2 and len(tests) == 1
    kinds = [e["kind"] for e in runtime.store.events(outcome["conversation_id"])]
    assert kinds[:2] == ["turn.queued", "turn.started"]
    assert kinds.count("tool.result") == 4 and kinds[-1] == "turn.finished"
    assert "critic" in kinds


def test_replayed_like_the_engine_every_step_runs_once(tmp_path: Path) -> None:
    runtime, models = runtime_for(tmp_path, repair_script())
    cid = runtime.store.create_conversation("t")
    turn_id = runtime.store.add_turn(cid, REQUIREMENT)["turn_id"]
    steps = ReplaySteps()
    outcome = steps.drive(lambda s: Turn(s, runtime.effects, cid, turn_id).run())
    assert outcome["reason"] == "answered"
    assert set(steps.executions.values()) == {1}
    assert steps.calls == len(steps.order) + 1
    assert len(models.agent.requests) == 5  # one request per model step, however many replays


def test_a_step_whose_result_was_lost_repeats_no_model_or_tool_call(tmp_path: Path) -> None:
    runtime, models = runtime_for(tmp_path, repair_script())
    cid = runtime.store.create_conversation("t")
    turn_id = runtime.store.add_turn(cid, REQUIREMENT)["turn_id"]
    steps = ReplaySteps(forget=frozenset({"llm-1", "tool-1-0", "critic-0"}))
    outcome = steps.drive(lambda s: Turn(s, runtime.effects, cid, turn_id).run())
    assert outcome["reason"] == "answered"
    assert steps.executions["llm-1"] == 2 and steps.executions["tool-1-0"] == 2
    assert len(models.agent.requests) == 5 and len(models.critic.requests) == 1
    drafts = runtime.store.conversation(cid)["tool_calls"]
    assert [c["step_id"] for c in drafts].count("tool-1-0") == 1


def test_after_two_repair_rounds_the_turn_stops_and_explains(tmp_path: Path) -> None:
    script = Script(
        agent=[calls(write(BROKEN)), calls(write(STILL_BROKEN)), calls(write(BROKEN_AGAIN))]
    )
    runtime, models = runtime_for(tmp_path, script)
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "repair-exhausted"
    assert "stopped after 2 repair rounds" in outcome["reply"]
    assert "[import-not-allowed]" in outcome["reply"]
    assert len(models.agent.requests) == 3  # no fourth attempt


def test_the_same_call_twice_is_stopped_as_a_loop(tmp_path: Path) -> None:
    script = Script(
        agent=[call("list_skills"), call("skill_guide", topic="steps"), call("list_skills")]
    )
    runtime, models = runtime_for(tmp_path, script)
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "loop-detected"
    assert "already called with exactly these arguments" in outcome["reply"]
    tool_steps = [
        c["step_id"] for c in runtime.store.conversation(outcome["conversation_id"])["tool_calls"]
    ]
    assert tool_steps == ["tool-0-0", "tool-1-0"]  # the repeat never ran
    assert len(models.agent.requests) == 3


def test_an_exhausted_budget_ends_the_turn_gracefully(tmp_path: Path) -> None:
    script = Script(agent=[call("skill_guide", topic="workflow"), call("list_skills"), say("x")])
    # Default price $1/$4 per Mtok: the first call (~1.8k tokens in, up to 1k out) fits;
    # the second (its spend plus the guide in the prompt) would cross $0.007.
    runtime, models = runtime_for(
        tmp_path,
        script,
        LOOPWRIGHT_BUDGET_TURN_USD="0.007",
        LOOPWRIGHT_LLM_MAX_OUTPUT_TOKENS="1000",
    )
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "budget-exhausted", outcome["reply"]
    assert "per-turn budget is exhausted" in outcome["reply"]
    assert "LOOPWRIGHT_BUDGET_" in outcome["reply"]
    assert len(models.agent.requests) == 1
    spent = runtime.store.conversation(outcome["conversation_id"])["cost_usd"]
    assert 0 < spent <= 0.007


def test_the_critic_sends_a_weak_skill_back_once(tmp_path: Path) -> None:
    script = Script(
        agent=[calls(write(GOOD)), say("done"), calls(write(REVISED)), say("revised and done")],
        critic=[critic_json(0.3, "posts too often"), critic_json(0.9)],
    )
    runtime, models = runtime_for(tmp_path, script)
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "answered" and outcome["reply"] == "revised and done"
    assert outcome["critic"]["decision"] == "accept"
    assert len(models.critic.requests) == 2
    revision = models.agent.requests[2].messages[-1]
    assert revision["role"] == "user" and "below the bar" in revision["content"]
    assert "posts too often" in revision["content"]
    critic_request = json.loads(models.critic.requests[0].messages[1]["content"])
    assert critic_request["requirement"] == REQUIREMENT and "MANIFEST" in critic_request["source"]


def test_concerns_after_the_revision_are_reported(tmp_path: Path) -> None:
    script = Script(
        agent=[calls(write(GOOD)), say("done"), calls(write(REVISED)), say("still done")],
        critic=[critic_json(0.3, "weak"), critic_json(0.4, "still weak")],
    )
    runtime, _ = runtime_for(tmp_path, script)
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["critic"]["decision"] == "concerns"
    assert outcome["reply"].startswith("still done\n\nThe reviewer still has concerns")
    assert "still weak" in outcome["reply"]


def test_without_a_critic_model_rules_review_the_skill(tmp_path: Path) -> None:
    script = Script(agent=[calls(write(GOOD)), say("done")])
    runtime, _models = runtime_for(tmp_path, script, fail=("critic",))
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "answered"
    assert outcome["critic"]["source"] == "rules"
    assert any("critic model failed" in n for n in outcome["critic"]["notes"])


def test_compaction_at_the_threshold_keeps_a_stable_prefix(tmp_path: Path) -> None:
    topics = ["workflow", "example", "files", "manifest", "functions", "ctx"]
    summary = json.dumps(
        {
            "goal": REQUIREMENT,
            "constraints": ["post to the inbox"],
            "progress": ["read the guide"],
            "decisions": [],
            "next_steps": ["write the skill"],
        }
    )
    script = Script(
        agent=[call("skill_guide", topic=t) for t in topics] + [say("ready to write")],
        summaries=[summary],
    )
    runtime, models = runtime_for(
        tmp_path,
        script,
        LOOPWRIGHT_COMPACT_AFTER_STEPS="4",
        LOOPWRIGHT_COMPACT_AT_TOKENS="1000000",
        LOOPWRIGHT_COMPACT_KEEP_RECENT="2",
    )
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "answered" and outcome["compactions"] == 1
    assert len(models.classifier.requests) == 1
    prompts = [r.messages for r in models.agent.requests]
    compacted_at = next(i for i, p in enumerate(prompts) if "Goal (restated)" in str(p[1]))
    assert compacted_at == 4
    assert len(prompts[compacted_at]) < len(prompts[compacted_at - 1])
    for before, after in itertools.pairwise(prompts):
        if after is prompts[compacted_at]:
            continue
        assert after[: len(before)] == before  # append-only between compactions
    assert canonical_json(prompts[compacted_at][0]) == canonical_json(prompts[0][0])
    assert "post to the inbox" in prompts[compacted_at][1]["content"]


def test_no_llm_configured_answers_what_to_set(tmp_path: Path) -> None:
    runtime, models = runtime_for(tmp_path, Script(agent=[]), llm=False)
    outcome = runtime.run_inline("hello")
    assert outcome["reason"] == "llm-not-configured"
    assert "LOOPWRIGHT_LLM_BASE_URL" in outcome["reply"]
    assert "LOOPWRIGHT_LLM_MODEL" in outcome["reply"]
    assert models.agent.requests == []


def test_the_iteration_cap_is_the_last_guard(tmp_path: Path) -> None:
    script = Script(
        agent=[call("skill_guide", topic=t) for t in ("workflow", "ctx", "steps", "errors")]
    )
    runtime, _ = runtime_for(tmp_path, script, LOOPWRIGHT_AGENT_MAX_ITERATIONS="3")
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "iteration-cap"
    assert "after 3 model steps" in outcome["reply"]


def test_a_model_that_keeps_failing_ends_the_turn(tmp_path: Path) -> None:
    runtime, _ = runtime_for(tmp_path, Script(agent=[say("never")]), fail=("agent",))
    outcome = runtime.run_inline(REQUIREMENT)
    assert outcome["reason"] == "llm-failed"
    assert "could not reach the model" in outcome["reply"]


def test_the_next_turn_continues_the_conversation(tmp_path: Path) -> None:
    script = Script(agent=[say("first answer"), say("second answer")])
    runtime, models = runtime_for(tmp_path, script)
    first = runtime.run_inline("first")
    second = runtime.run_inline("second", conversation_id=first["conversation_id"])
    assert second["reply"] == "second answer"
    sent = [m["content"] for m in models.agent.requests[1].messages[1:]]
    assert sent == ["first", "first answer", "second"]
    conversation = runtime.store.conversation(first["conversation_id"])
    assert [t["status"] for t in conversation["turns"]] == ["done", "done"]
    assert len(conversation["messages"]) == 4


def test_inline_steps_report_step_ids(tmp_path: Path) -> None:
    runtime, _ = runtime_for(tmp_path, Script(agent=[say("hi")]))
    cid = runtime.store.create_conversation("t")
    turn_id = runtime.store.add_turn(cid, "hello")["turn_id"]
    steps = InlineSteps()
    Turn(steps, runtime.effects, cid, turn_id).run()
    assert steps.step_ids == ["queue-0", "load", "llm-0", "finish", "announce"]
