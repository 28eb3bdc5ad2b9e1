"""Chat completions through the ``openai`` client, and the fallback between two models.

``ChatModel`` is the seam: the turn, the critic and the summariser depend on it, the
``openai`` implementation talks HTTP, and tests put a scripted OpenAI-compatible server (or
any object with ``complete``) behind it.

Compatibility with small local servers (llama.cpp) is deliberate: every assistant message
carries a string ``content``; no ``response_format``; ``tool_choice`` is sent only when a
caller forces a specific function, never ``"required"``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Protocol

import openai

import agent.llm
from agent.errors import LLMBadReply, LLMError, LLMRequestFailed

from .messages import Message, to_wire
from .reply import ModelReply, ToolCall, Usage
from .settings import ClientSettings, Endpoint

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ChatRequest:
    messages: list[Message]
    tools: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    #: Force one function by name (llama.cpp honours this; it ignores "required").
    force_tool: str | None = None


class ChatModel(Protocol):
    """Anything that answers a chat request; raises ``LLMError`` when it cannot."""

    @property
    def model_names(self) -> tuple[str, ...]: ...

    def complete(self, request: ChatRequest) -> ModelReply: ...


class OpenAIChatModel:
    """One endpoint through the official client; its retries cover transient failures."""

    def __init__(self, endpoint: Endpoint, settings: ClientSettings) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or "not-needed",
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        )

    @property
    def model_names(self) -> tuple[str, ...]:
        return (self.endpoint.model,)

    def complete(self, request: ChatRequest) -> ModelReply:
        agent.llm.check_model_request_allowed(self.endpoint.base_url)
        try:
            response = self._client.chat.completions.create(**self._params(request))
        except openai.APIError as err:
            status = getattr(err, "status_code", None)
            detail = f"HTTP {status}: {err.message}" if status else str(err)
            raise LLMRequestFailed(f"{self.endpoint.describe()}: {detail}") from err
        return _read_reply(response, self.endpoint.model)

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": to_wire(request.messages),
            "max_tokens": request.max_tokens or self.settings.max_output_tokens,
        }
        temperature = (
            request.temperature if request.temperature is not None else self.settings.temperature
        )
        if temperature is not None:
            params["temperature"] = temperature
        seed = request.seed if request.seed is not None else self.settings.seed
        if seed is not None:
            params["seed"] = seed
        if request.tools:
            params["tools"] = request.tools
            if request.force_tool:
                params["tool_choice"] = {
                    "type": "function",
                    "function": {"name": request.force_tool},
                }
        return params


def _read_reply(response: Any, requested_model: str) -> ModelReply:
    try:
        choice = response.choices[0]
        message = choice.message
    except (AttributeError, IndexError, TypeError) as err:
        raise LLMBadReply(f"{requested_model}: the reply has no choices") from err
    calls = []
    for index, call in enumerate(message.tool_calls or ()):
        function = getattr(call, "function", None)
        if function is None or not function.name:
            continue
        calls.append(
            ToolCall(
                id=call.id or f"call_{index}",
                name=function.name,
                arguments=function.arguments or "{}",
            )
        )
    usage = response.usage
    cached = 0
    details = getattr(usage, "prompt_tokens_details", None) if usage else None
    if details is not None and getattr(details, "cached_tokens", None):
        cached = int(details.cached_tokens)
    return ModelReply(
        content=message.content or "",
        tool_calls=tuple(calls),
        usage=Usage(
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cached_input_tokens=cached,
        ),
        model=str(getattr(response, "model", None) or requested_model),
        finish_reason=str(choice.finish_reason or "stop"),
    )


class FallbackChatModel:
    """Ask the primary; when it still fails after its own retries, ask the fallback once."""

    def __init__(self, primary: ChatModel, fallback: ChatModel) -> None:
        self.primary = primary
        self.fallback = fallback

    @property
    def model_names(self) -> tuple[str, ...]:
        return self.primary.model_names + self.fallback.model_names

    def complete(self, request: ChatRequest) -> ModelReply:
        try:
            return self.primary.complete(request)
        except LLMError as first:
            log.warning("primary model failed (%s); trying the fallback", first.message)
            try:
                reply = self.fallback.complete(request)
            except LLMError as second:
                raise LLMRequestFailed(
                    f"both models failed: {first.message}; then {second.message}"
                ) from second
            return dataclasses.replace(reply, fallback=True)
