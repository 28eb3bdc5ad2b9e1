"""What one chat completion gave back, as a JSON-round-trippable value.

A ``ModelReply`` is the output of an LLM step: the engine memoizes it, so it must survive
``to_dict`` / ``from_dict`` unchanged, and replaying a turn rebuilds it from that dict.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .messages import Message, assistant, tool_call


@dataclasses.dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclasses.dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclasses.dataclass(frozen=True)
class ModelReply:
    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str
    finish_reason: str = "stop"
    #: True when the fallback model answered because the primary failed.
    fallback: bool = False

    def message(self) -> Message:
        """The assistant message to append to the conversation (content never missing)."""
        calls = [tool_call(c.id, c.name, c.arguments) for c in self.tool_calls]
        return assistant(self.content, calls or None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelReply:
        return cls(
            content=str(data.get("content") or ""),
            tool_calls=tuple(ToolCall(**call) for call in data.get("tool_calls") or ()),
            usage=Usage(**(data.get("usage") or {})),
            model=str(data.get("model") or ""),
            finish_reason=str(data.get("finish_reason") or "stop"),
            fallback=bool(data.get("fallback", False)),
        )
