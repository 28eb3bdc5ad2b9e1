"""An in-process ``ChatModel`` that answers from a ``Script``: unit tests and the benchmark.

It records every request and reports usage as the scripted HTTP server does (about four
characters per token), so budgets and token counts behave as they would over HTTP.
"""

from __future__ import annotations

import math
import threading

from agent.errors import LLMRequestFailed
from agent.llm import ChatRequest, ModelReply, ToolCall, Usage
from agent.llm.messages import canonical_json, to_wire

from .script import Script


class ScriptedModel:
    def __init__(self, script: Script, model: str, *, fail: bool = False) -> None:
        self.script = script
        self.model = model
        self.fail = fail
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()

    @property
    def model_names(self) -> tuple[str, ...]:
        return (self.model,)

    def complete(self, request: ChatRequest) -> ModelReply:
        with self._lock:
            self.requests.append(request)
        if self.fail:
            raise LLMRequestFailed(f"{self.model}: scripted failure")
        messages = to_wire(request.messages)
        step, salt = self.script.pick(self.model, messages)
        calls = tuple(
            ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
            for c in step.tool_calls(salt)
        )
        prompt = canonical_json(messages) + (canonical_json(request.tools) if request.tools else "")
        return ModelReply(
            content=step.text,
            tool_calls=calls,
            usage=Usage(
                input_tokens=math.ceil(len(prompt) / 4),
                output_tokens=math.ceil((len(step.text) + sum(len(c.arguments) for c in calls)) / 4)
                + 1,
            ),
            model=self.model,
            finish_reason="tool_calls" if calls else "stop",
        )
