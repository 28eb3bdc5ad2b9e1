"""Chat messages as plain, JSON-serialisable dicts in the chat-completions shape.

Messages are memoized as step outputs and stored in SQLite, so they stay plain dicts rather
than client objects. ``to_wire`` is the one place that adapts them for small local servers
(llama.cpp answers HTTP 500 to an assistant message with ``tool_calls`` and no ``content``).
"""

from __future__ import annotations

import json
from typing import Any

Message = dict[str, Any]


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces): identical values give identical prompts."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_arguments(arguments: str) -> str:
    """Re-serialise tool-call arguments canonically; leave unreadable JSON as it came."""
    try:
        return canonical_json(json.loads(arguments))
    except (ValueError, TypeError):
        return arguments


def system(text: str) -> Message:
    return {"role": "system", "content": text}


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def assistant(content: str, tool_calls: list[dict[str, Any]] | None = None) -> Message:
    message: Message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": canonical_arguments(arguments)},
    }


def tool_result(call_id: str, content: str) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def to_wire(messages: list[Message]) -> list[Message]:
    """Messages as sent: every assistant message has a string ``content`` (``""`` if none)."""
    wire: list[Message] = []
    for message in messages:
        out = dict(message)
        if out.get("role") == "assistant" and not isinstance(out.get("content"), str):
            out["content"] = ""
        wire.append(out)
    return wire


def text_of(message: Message) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""
