"""A script of model replies, picked by the request rather than by arrival order.

Each *distinct* request (model plus canonical messages) takes the next reply of its role's
list; the *same* request again — a step retried or resumed after a crash — gets the same
reply. So a test can count requests to prove a resumed turn asked nothing twice, and the
answer never depends on timing.

Roles are told apart by model name: the critic and classifier models are named in
``ScriptRoles``; anything else is the agent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import threading
from collections.abc import Sequence
from typing import Any

AGENT_MODEL = "agent-model"
FALLBACK_MODEL = "agent-fallback-model"
CRITIC_MODEL = "critic-model"
CLASSIFIER_MODEL = "classifier-model"


@dataclasses.dataclass(frozen=True)
class Call:
    """One tool call in a reply."""

    name: str
    args: dict[str, Any] | str

    def arguments(self) -> str:
        return self.args if isinstance(self.args, str) else json.dumps(self.args)


@dataclasses.dataclass(frozen=True)
class Step:
    """One scripted reply: text, tool calls, or both."""

    text: str = ""
    calls: tuple[Call, ...] = ()
    #: Seconds the HTTP double waits before answering (a slow model; a window to crash in).
    delay_s: float = 0.0

    def tool_calls(self, salt: str) -> list[dict[str, Any]]:
        return [
            {
                "id": f"call_{salt}_{n}",
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments()},
            }
            for n, c in enumerate(self.calls)
        ]


def say(text: str) -> Step:
    return Step(text=text)


def call(name: str, text: str = "", **args: Any) -> Step:
    return Step(text=text, calls=(Call(name, args),))


def calls(*items: Call, text: str = "") -> Step:
    return Step(text=text, calls=tuple(items))


class Script:
    def __init__(
        self,
        agent: Sequence[Step],
        critic: Sequence[str] = (),
        summaries: Sequence[str] = (),
        *,
        critic_model: str = CRITIC_MODEL,
        classifier_model: str = CLASSIFIER_MODEL,
        exhausted: Step | None = None,
    ) -> None:
        self.lists: dict[str, list[Step]] = {
            "agent": list(agent),
            "critic": [Step(text=t) for t in critic],
            "classifier": [Step(text=t) for t in summaries],
        }
        self.models = {critic_model: "critic", classifier_model: "classifier"}
        self.exhausted = exhausted or Step(text="(script exhausted)")
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, int]] = {}
        self._next = {"agent": 0, "critic": 0, "classifier": 0}

    def role(self, model: str) -> str:
        return self.models.get(model, "agent")

    def pick(self, model: str, messages: list[dict[str, Any]]) -> tuple[Step, str]:
        """(the reply, a salt for tool-call ids stable across identical requests)."""
        key = hashlib.sha256(json.dumps([model, messages], sort_keys=True).encode()).hexdigest()[
            :12
        ]
        role = self.role(model)
        with self._lock:
            if key not in self._seen:
                self._seen[key] = (role, self._next[role])
                self._next[role] += 1
            role, index = self._seen[key]
        steps = self.lists[role]
        return (steps[index] if index < len(steps) else self.exhausted), key

    def distinct(self, role: str | None = None) -> int:
        with self._lock:
            return sum(1 for r, _ in self._seen.values() if role is None or r == role)

    def responder(self) -> Any:
        """A responder for ``skills_core.capabilities.scripted_llm.ScriptedLLM``."""
        reply = importlib.import_module("skills_core.capabilities.scripted_llm").Reply

        def respond(request: Any) -> Any:
            step, salt = self.pick(request.model, request.messages)
            return reply(
                text=step.text, tool_calls=step.tool_calls(salt) or None, delay_s=step.delay_s
            )

        return respond
