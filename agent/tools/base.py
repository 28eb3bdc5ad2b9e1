"""A tool: a name, a description, pydantic arguments, and a function returning a result.

``ToolBox.dispatch`` is where a model's call meets the code. Whatever the model wrote —
unknown name, broken JSON, a missing or mistyped argument, a service that is down — comes
back as a ``ToolResult`` with ``ok=False`` and a message precise enough to act on (which
field, what was wrong, what was expected). Nothing a tool call does escapes as an exception,
except the engine's own control flow (``BaseException``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

import pydantic

from agent.errors import AgentError, ToolArgumentsInvalid, ToolUnknown
from agent.llm.messages import canonical_json

#: The (turn, step) key of the tool call being dispatched. Services send it as an idempotency
#: key (the sidecar's ``Idempotency-Key`` header, the event id for the engine), so a step that
#: runs again after a crash does not write a version or start a run twice.
CALL_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "loopwright_call_key", default=None
)


class Args(pydantic.BaseModel):
    """Base of every tool's arguments: unknown arguments are errors, not silently dropped."""

    model_config = pydantic.ConfigDict(extra="forbid")


@dataclasses.dataclass(frozen=True)
class ToolResult:
    """A tool's answer; JSON round-trippable because it is a memoized step output."""

    ok: bool
    #: What the model reads: deterministic text or canonical JSON.
    content: str
    #: Structured detail for the console and the CLI (reports, run summaries).
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    error_code: str | None = None
    #: For write_skill/test_skill: {"kind", "ok", "skill_id", "problem"} (the repair bound).
    check: dict[str, Any] | None = None
    #: For a valid write_skill: the skill version to review (the critic gate).
    skill: dict[str, Any] | None = None

    @classmethod
    def success(cls, payload: Any, **extra: Any) -> ToolResult:
        content = payload if isinstance(payload, str) else canonical_json(payload)
        return cls(ok=True, content=content, **extra)

    @classmethod
    def failure(cls, err: AgentError, **extra: Any) -> ToolResult:
        return cls(
            ok=False,
            content=canonical_json({"error": err.code, "message": err.message}),
            error_code=err.code,
            **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResult:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[Args]
    run: Callable[[Any], ToolResult]

    def schema(self) -> dict[str, Any]:
        """The chat-completions ``tools`` entry; titles stripped to keep the prompt small."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _strip_titles(self.args.model_json_schema()),
            },
        }

    def signature(self) -> str:
        fields = self.args.model_fields
        parts = [
            f"{name}: {_type_name(f.annotation)}{'' if f.is_required() else ' (optional)'}"
            for name, f in fields.items()
        ]
        return f"{self.name}({', '.join(parts)})"


class ToolBox:
    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools = {tool.name: tool for tool in tools}

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.schema() for tool in self.tools.values()]

    def dispatch(self, name: str, arguments: str) -> ToolResult:
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(t.signature() for t in self.tools.values())
            return ToolResult.failure(ToolUnknown(f"there is no tool {name!r}; tools: {known}"))
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError as err:
            return ToolResult.failure(
                ToolArgumentsInvalid(
                    f"{name}: the arguments are not valid JSON ({err.msg} at character "
                    f"{err.pos}); expected {tool.signature()}"
                )
            )
        if not isinstance(raw, dict):
            return ToolResult.failure(
                ToolArgumentsInvalid(
                    f"{name}: the arguments must be a JSON object; expected {tool.signature()}"
                )
            )
        try:
            args = tool.args.model_validate(raw)
        except pydantic.ValidationError as err:
            return ToolResult.failure(ToolArgumentsInvalid(_explain(name, tool, err)))
        try:
            return tool.run(args)
        except AgentError as err:
            return ToolResult.failure(err)
        except Exception as err:  # a bug in a tool must not kill the turn
            return ToolResult.failure(
                AgentError(f"{name} failed unexpectedly: {type(err).__name__}: {err}")
            )


def _explain(name: str, tool: Tool, err: pydantic.ValidationError) -> str:
    problems = []
    for error in err.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "(arguments)"
        got = "" if error["type"] == "missing" else f" (got {_short(error.get('input'))})"
        problems.append(f"- {where}: {error['msg']}{got}")
    return f"{name}: invalid arguments:\n" + "\n".join(problems) + f"\nexpected {tool.signature()}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "")


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema
