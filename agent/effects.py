"""What a turn does to the world, each inside one step: model calls, tool calls, reviews,
summaries, and the events the SSE stream shows.

Each effect is idempotent on (turn, step). A model call is budgeted (reserve, call, settle)
and its result is kept with its ledger entry; a tool call's result is journaled. So when a
step runs again — the process died after the call, before the engine saved the answer — the
effect hands back the recorded result: the LLM is not asked again, the tool does not run
again, nothing is counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from agent import prompts
from agent.config import AgentSettings
from agent.errors import LLMError
from agent.llm import ChatRequest, ModelRoles, Role
from agent.llm.messages import Message, canonical_json, system, user
from agent.llm.reply import ModelReply
from agent.loop.budget import Account, Ledger
from agent.loop.compaction import (
    Summary,
    estimate_tokens,
    parse_summary,
    rule_based_summary,
    summarizer_messages,
)
from agent.loop.critic import parse_verdict, rule_based_review
from agent.store import AgentStore
from agent.tools import ToolBox
from agent.tools.base import CALL_KEY

CRITIC_MAX_TOKENS = 600
SUMMARY_MAX_TOKENS = 900


@dataclasses.dataclass(frozen=True)
class TurnRef:
    conversation_id: str
    turn_id: str


class Effects:
    def __init__(
        self,
        settings: AgentSettings,
        store: AgentStore,
        models: ModelRoles,
        toolbox: ToolBox,
        ledger: Ledger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.toolbox = toolbox
        self.ledger = ledger
        self.clock = clock

    def publish(self, ref: TurnRef, key: str, kind: str, data: dict[str, Any]) -> None:
        self.store.add_event(ref.conversation_id, ref.turn_id, f"{ref.turn_id}:{key}", kind, data)

    # -- the agent model ----------------------------------------------------------------------
    def model_call(self, ref: TurnRef, step_id: str, request: ChatRequest) -> dict[str, Any]:
        """``{"status": "ok", "reply", "cost_usd"}`` or ``{"status": "budget", "message"}``."""
        outcome = self._budgeted(ref, step_id, "agent", request)
        if outcome["status"] == "ok":
            reply = ModelReply.from_dict(outcome["reply"])
            self.publish(
                ref,
                step_id,
                "model.reply",
                {
                    "step": step_id,
                    "content": reply.content,
                    "tool_calls": [
                        {"id": c.id, "name": c.name, "arguments": brief(c.arguments)}
                        for c in reply.tool_calls
                    ],
                    "model": reply.model,
                    "fallback": reply.fallback,
                    "usage": dataclasses.asdict(reply.usage),
                    "cost_usd": outcome["cost_usd"],
                },
            )
        else:
            self.publish(ref, step_id, "budget.exhausted", outcome)
        return outcome

    def _budgeted(
        self, ref: TurnRef, step_id: str, role: Role, request: ChatRequest
    ) -> dict[str, Any]:
        key = f"{ref.turn_id}:{step_id}"
        model = self.models.require(role)
        day = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
        account = Account(ref.conversation_id, ref.turn_id, day)
        estimate = estimate_tokens(request.messages) + estimate_tokens(request.tools)
        max_out = request.max_tokens or self.settings.client.max_output_tokens
        decision = self.ledger.reserve(key, account, model.model_names[0], estimate, max_out)
        if decision.existing and decision.result is not None:
            return decision.result
        if not decision.allowed:
            return {"status": "budget", "scope": decision.scope, "message": decision.message}
        try:
            reply = model.complete(request)
        except LLMError:
            self.ledger.release(key)
            raise
        cost = self.ledger.prices.price(reply.model).cost(reply.usage)
        result = {"status": "ok", "reply": reply.to_dict(), "cost_usd": cost}
        self.ledger.settle(key, reply.model, reply.usage, result)
        return result

    # -- tools --------------------------------------------------------------------------------
    def tool_call(
        self, ref: TurnRef, step_id: str, call_id: str, name: str, arguments: str
    ) -> dict[str, Any]:
        recorded = self.store.tool_result(ref.turn_id, step_id)
        if recorded is not None:
            return recorded
        self.publish(
            ref,
            f"{step_id}:started",
            "tool.started",
            {"step": step_id, "call_id": call_id, "name": name, "arguments": brief(arguments)},
        )
        started = time.monotonic()
        token = CALL_KEY.set(f"{ref.turn_id}:{step_id}")
        try:
            result = self.toolbox.dispatch(name, arguments).to_dict()
        finally:
            CALL_KEY.reset(token)
        result["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.store.record_tool(ref.turn_id, step_id, name, arguments, result)
        self.publish(
            ref,
            step_id,
            "tool.result",
            {
                "step": step_id,
                "call_id": call_id,
                "name": name,
                "ok": result["ok"],
                "error_code": result["error_code"],
                "content": result["content"][:4000],
                "check": result["check"],
                "skill": result["skill"],
                "data": result["data"],
            },
        )
        return result

    # -- the critic ---------------------------------------------------------------------------
    def review(
        self,
        ref: TurnRef,
        step_id: str,
        requirement: str,
        source: str,
        skill: dict[str, Any],
    ) -> dict[str, Any]:
        manifest = skill.get("manifest")
        payload = {
            "requirement": requirement,
            "skill_id": skill.get("id"),
            "manifest": manifest,
            "source": source,
            "validation": "passed static validation and a dry run",
        }
        messages = [system(prompts.load("critic.md")), user(canonical_json(payload))]
        reply, why = self._ask(ref, step_id, "critic", messages, CRITIC_MAX_TOKENS)
        verdict = parse_verdict(reply.content) if reply is not None else None
        if verdict is None:
            rules = rule_based_review(source, manifest)
            why = why or "the critic's answer was not readable"
            verdict = dataclasses.replace(rules, notes=(*rules.notes, why))
        result = verdict.to_dict()
        result["skill_ref"] = skill.get("ref")
        self.publish(ref, step_id, "critic", result)
        return result

    # -- compaction ---------------------------------------------------------------------------
    def summarize(
        self, ref: TurnRef, step_id: str, previous: Summary | None, older: list[Message]
    ) -> dict[str, Any]:
        messages = summarizer_messages(prompts.load("compaction.md"), previous, older)
        reply, _why = self._ask(ref, step_id, "classifier", messages, SUMMARY_MAX_TOKENS)
        summary = parse_summary(reply.content) if reply is not None else None
        source = "model"
        if summary is None:
            summary, source = rule_based_summary(previous, older), "rules"
        result = {"summary": summary.to_dict(), "source": source, "folded": len(older)}
        self.publish(ref, step_id, "compaction", result)
        return result

    def _ask(
        self, ref: TurnRef, step_id: str, role: Role, messages: list[Message], max_tokens: int
    ) -> tuple[ModelReply | None, str]:
        """A best-effort call for a side role: (reply, "") or (None, why it fell back)."""
        if getattr(self.models, role) is None:
            return None, f"no {role} model is configured"
        request = ChatRequest(messages, max_tokens=max_tokens, temperature=0.0)
        try:
            outcome = self._budgeted(ref, step_id, role, request)
        except LLMError as err:
            return None, f"the {role} model failed ({err.code})"
        if outcome["status"] != "ok":
            return None, f"the {role} call was refused: {outcome['message']}"
        return ModelReply.from_dict(outcome["reply"]), ""


def brief(arguments: str, limit: int = 200) -> dict[str, Any]:
    """Tool arguments for display: short values as they are, long ones by their size."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {"(unreadable)": arguments[:limit]}
    if not isinstance(parsed, dict):
        return {"(not an object)": str(parsed)[:limit]}
    return {
        k: v if len(json.dumps(v)) <= limit else f"<{len(json.dumps(v))} characters>"
        for k, v in parsed.items()
    }
