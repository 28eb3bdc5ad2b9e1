"""One conversation turn: the ReAct loop, written against durable steps.

Every model call and every tool call is a step (``Steps.run``). On each call the engine
replays this code from the top with the results of finished steps, so the loop's state —
the prompt, the loop detector's fingerprints, the repair count, the critic gate, the spend —
is rebuilt from those memoized results, identically, and the first step without a result is
the one that runs. Kill any process mid-turn: the turn resumes there. Code outside steps is
therefore deterministic: no clock, no random, no I/O.

Queueing: a message sent while a turn of the same conversation runs becomes the next turn
and waits (FIFO). The engine's concurrency limit (key: the conversation, limit 1) keeps two
steps of one conversation from running at once; it is step-level, so the gate at the top of
the turn (``_await_turn``) makes whole turns wait for the ones ahead to finish.

    gate ▸ load ▸ [compact?] ▸ llm ▸ tools… ▸ llm ▸ … ▸ [critic ▸ revise?] ▸ finish ▸ announce
"""

from __future__ import annotations

import functools
import json
from typing import Any

from agent import prompts
from agent.durable import StepFailed, Steps
from agent.effects import Effects, TurnRef
from agent.llm import ChatRequest
from agent.llm.messages import Message, assistant, tool_result, user
from agent.llm.reply import ModelReply, ToolCall
from agent.loop.compaction import (
    Context,
    Summary,
    clip_result,
    compact,
    due,
    estimate_tokens,
    prompt_messages,
    rule_based_summary,
    split,
)
from agent.loop.critic import CriticGate, CriticVerdict, describe
from agent.loop.detector import LoopDetector
from agent.loop.repair import Check, RepairTracker
from agent.loop.stop import Stop, iteration_cap
from agent.tools import ToolResult

TURN_REQUESTED = "loopwright/agent.turn.requested"
TURN_FINISHED = "loopwright/agent.turn.finished"
#: How long one wait for the turn ahead lasts before the gate looks again.
GATE_WAIT_S = 15.0
#: Rounds of waiting before a turn proceeds anyway (about an hour).
GATE_ROUNDS = 240
RESULT_FIELDS = frozenset(ToolResult.__dataclass_fields__)


class Turn:
    def __init__(self, steps: Steps, effects: Effects, conversation_id: str, turn_id: str) -> None:
        self.steps = steps
        self.effects = effects
        self.settings = effects.settings
        self.ref = TurnRef(conversation_id, turn_id)
        loop = self.settings.loop
        self.context = Context()
        self.transcript: list[Message] = []
        self.detector = LoopDetector(max_stale=loop.max_stale)
        self.repair = RepairTracker(max_repairs=loop.max_repairs)
        self.gate = CriticGate(bar=loop.critic_bar, max_revisions=loop.critic_revisions)
        self.requirement = ""
        self.skill: dict[str, Any] | None = None
        self.skill_source = ""
        self.critic: dict[str, Any] | None = None
        self.spent = {"cost_usd": 0.0, "input_tokens": 0, "output_tokens": 0, "model_steps": 0}

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self._await_turn()
        start = self.steps.run(
            "load", functools.partial(self.effects.store.begin_turn, self.ref.turn_id)
        )
        self.context = Context.from_dict(start["context"])
        self.requirement = str(start["user_text"])
        if not self.settings.llm_configured:
            return self._finish(Stop("llm-not-configured", self.settings.setup_hint()))
        self._append(user(self.requirement))
        system_text = prompts.load("system.md")
        tools = self.effects.toolbox.schemas()
        max_iterations = self.settings.loop.max_iterations
        for i in range(max_iterations):
            self._maybe_compact(i, system_text, tools)
            reply = self._model_step(
                i, ChatRequest(prompt_messages(system_text, self.context), tools=tools)
            )
            if isinstance(reply, Stop):
                return self._finish(reply)
            self._append(reply.message())
            if reply.tool_calls:
                stop = self._run_tools(i, reply.tool_calls)
                if stop is not None:
                    return self._finish(stop)
                continue
            if self._revision_requested():
                continue
            return self._finish(Stop("answered", self._answer(reply.content)))
        return self._finish(iteration_cap(max_iterations))

    def _model_step(self, i: int, request: ChatRequest) -> ModelReply | Stop:
        """One call to the agent model, or the reason the turn cannot make it."""
        step_id = f"llm-{i}"
        try:
            outcome = self.steps.run(
                step_id, functools.partial(self.effects.model_call, self.ref, step_id, request)
            )
        except StepFailed as err:
            return Stop(
                "llm-failed",
                f"I could not reach the model, so I stopped: {err.message}. "
                "Send your message again once the model is back.",
            )
        if outcome["status"] != "ok":
            return Stop(
                "budget-exhausted",
                f"I stopped because {outcome['message']}. Raise the limit "
                "(LOOPWRIGHT_BUDGET_*_USD) or continue in a new turn.",
            )
        reply = ModelReply.from_dict(outcome["reply"])
        self._count(outcome, reply)
        return reply

    def _await_turn(self) -> None:
        """FIFO per conversation: wait until no earlier turn is queued or running."""
        store = self.effects.store
        condition = f"async.data.conversation_id == '{self.ref.conversation_id}'"
        for k in range(GATE_ROUNDS):
            ahead = self.steps.run(
                f"queue-{k}", functools.partial(store.turns_ahead, self.ref.turn_id)
            )
            if ahead == 0:
                return
            self.steps.wait(f"await-{k}", TURN_FINISHED, condition, GATE_WAIT_S)

    # -- tools --------------------------------------------------------------------------------
    def _run_tools(self, i: int, calls: tuple[ToolCall, ...]) -> Stop | None:
        for j, call in enumerate(calls):
            verdict = self.detector.check_call(call.name, call.arguments)
            if verdict is not None:
                self._skip(calls[j:], f"not run: {verdict.message}")
                return Stop(
                    "loop-detected",
                    f"I stopped because I was going in circles: {verdict.message}. "
                    "Tell me what to change and I will continue.",
                )
            self.detector.record_call(call.name, call.arguments)
            step_id = f"tool-{i}-{j}"
            data = self.steps.run(
                step_id,
                functools.partial(
                    self.effects.tool_call, self.ref, step_id, call.id, call.name, call.arguments
                ),
            )
            result = ToolResult.from_dict({k: v for k, v in data.items() if k in RESULT_FIELDS})
            stop = self._observe(call, result)
            content = result.content
            if result.check and not result.check["ok"] and stop is None:
                content = f"{content}\n\n{self.repair.note()}"
            self._append(tool_result(call.id, clip_result(content, self.settings.loop.compaction)))
            stale = self.detector.record_result(result.content)
            if stop is None and stale is not None:
                stop = Stop(
                    "loop-detected",
                    f"I stopped because I was going in circles: {stale.message}. "
                    "Tell me what to change and I will continue.",
                )
            if stop is not None:
                self._skip(calls[j + 1 :], "not run: the turn stopped")
                return stop
        return None

    def _observe(self, call: ToolCall, result: ToolResult) -> Stop | None:
        """Feed the repair bound and remember the latest valid skill; a stop, if any."""
        if result.skill is not None:
            self.skill = result.skill
            self.skill_source = _argument(call.arguments, "source")
        if result.check is None:
            return None
        explanation = self.repair.observe(Check(**result.check))
        return None if explanation is None else Stop("repair-exhausted", explanation)

    def _skip(self, calls: tuple[ToolCall, ...], why: str) -> None:
        """Every tool call needs a result message, even the ones the turn did not run."""
        for call in calls:
            self._append(tool_result(call.id, why))

    # -- critic -------------------------------------------------------------------------------
    def _revision_requested(self) -> bool:
        """Run the critic on a newly validated skill; True when it asks for a revision."""
        if not self.settings.loop.critic_enabled or self.skill is None:
            return False
        ref = str(self.skill["ref"])
        if not self.gate.needs_review(ref):
            return False
        step_id = f"critic-{len(self.gate.reviewed)}"
        try:
            data = self.steps.run(
                step_id,
                functools.partial(
                    self.effects.review,
                    self.ref,
                    step_id,
                    self.requirement,
                    self.skill_source,
                    self.skill,
                ),
            )
        except StepFailed:
            return False
        verdict = CriticVerdict.from_dict(data)
        decision = self.gate.decide(ref, verdict)
        self.critic = {**verdict.to_dict(), "decision": decision, "bar": self.gate.bar}
        if decision != "revise":
            return False
        self._append(
            user(
                prompts.render(
                    "critic_revision.md",
                    skill=ref,
                    score=f"{verdict.score:.2f}",
                    bar=f"{self.gate.bar:.2f}",
                    review=describe(verdict),
                )
            )
        )
        return True

    def _answer(self, content: str) -> str:
        if self.critic and self.critic["decision"] != "accept":
            verdict = CriticVerdict.from_dict(self.critic)
            return f"{content}\n\nThe reviewer still has concerns ({describe(verdict)})"
        return content

    # -- compaction ---------------------------------------------------------------------------
    def _maybe_compact(self, i: int, system_text: str, tools: list[dict[str, Any]]) -> None:
        policy = self.settings.loop.compaction
        tokens = estimate_tokens(prompt_messages(system_text, self.context)) + estimate_tokens(
            tools
        )
        if not due(self.context, policy, tokens):
            return
        older, _ = split(self.context.messages, policy.keep_recent)
        previous = self.context.summary
        step_id = f"compact-{i}"
        try:
            data = self.steps.run(
                step_id,
                functools.partial(self.effects.summarize, self.ref, step_id, previous, older),
            )
            summary = Summary.from_dict(data["summary"])
        except StepFailed:
            summary = rule_based_summary(previous, older)
        self.context = compact(self.context, summary, policy.keep_recent)

    # -- bookkeeping --------------------------------------------------------------------------
    def _append(self, message: Message) -> None:
        self.context.append(message)
        self.transcript.append(message)

    def _count(self, outcome: dict[str, Any], reply: ModelReply) -> None:
        self.spent["cost_usd"] += float(outcome.get("cost_usd") or 0.0)
        self.spent["input_tokens"] += reply.usage.input_tokens
        self.spent["output_tokens"] += reply.usage.output_tokens
        self.spent["model_steps"] += 1

    def _finish(self, stop: Stop) -> dict[str, Any]:
        if stop.reason != "answered" and stop.reason != "llm-not-configured":
            self._append(assistant(stop.message))
        outcome: dict[str, Any] = {
            "conversation_id": self.ref.conversation_id,
            "turn_id": self.ref.turn_id,
            "reason": stop.reason,
            "reply": stop.message,
            "skill": self.skill,
            "critic": self.critic,
            "repairs": self.repair.failures,
            "compactions": self.context.compactions,
            "loop": {"calls": len(self.detector.calls)},
            **{k: round(v, 6) if isinstance(v, float) else v for k, v in self.spent.items()},
        }
        finished = self.steps.run(
            "finish",
            functools.partial(
                self.effects.store.finish_turn,
                self.ref.turn_id,
                context=self.context.to_dict(),
                transcript=self.transcript,
                outcome=outcome,
            ),
        )
        self.steps.send(
            "announce",
            TURN_FINISHED,
            {"conversation_id": self.ref.conversation_id, "turn_id": self.ref.turn_id},
        )
        return dict(finished)


def _argument(arguments: str, name: str) -> str:
    try:
        value = json.loads(arguments).get(name, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
