"""Compaction and re-anchoring: keep the prompt short without losing the goal.

The prompt is ``[system] [summary + restated goal]? [messages since the last compaction]``.
Between compactions it only grows at the end, and everything in it is deterministic (no
timestamps, canonical JSON), so a provider's prompt cache keeps hitting on the prefix.

When ``after_steps`` model steps have passed or the prompt estimate reaches ``at_tokens``,
the older messages are folded into a structured ``Summary`` (goal, constraints, progress,
decisions, next steps) — written by the classifier model, or by ``rule_based_summary`` when
that model is missing, fails or answers something unreadable — and the latest
``keep_recent`` messages stay verbatim.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from agent.llm.messages import Message, canonical_json, text_of

SUMMARY_FIELDS = ("goal", "constraints", "progress", "decisions", "next_steps")


@dataclasses.dataclass(frozen=True)
class CompactionPolicy:
    after_steps: int = 30
    at_tokens: int = 8_000
    keep_recent: int = 4
    #: The largest prompt the agent should send: compaction keeps it near ``at_tokens``, and
    #: one tool result may add at most a quarter of it (``clip_result``).
    prompt_budget_tokens: int = 16_000

    @property
    def max_result_chars(self) -> int:
        return self.prompt_budget_tokens  # a quarter of the budget, at ~4 characters a token


def estimate_tokens(value: Any) -> int:
    """About four characters per token, on the canonical JSON; good enough to plan with."""
    text = value if isinstance(value, str) else canonical_json(value)
    return math.ceil(len(text) / 4)


@dataclasses.dataclass(frozen=True)
class Summary:
    goal: str
    constraints: tuple[str, ...] = ()
    progress: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    def render(self) -> str:
        def section(title: str, items: tuple[str, ...]) -> str:
            return f"{title}:\n" + ("\n".join(f"- {i}" for i in items) if items else "- none")

        return "\n".join(
            [
                "Earlier steps of this conversation were compacted into this summary.",
                f"Goal (restated): {self.goal}",
                section("Constraints", self.constraints),
                section("Progress", self.progress),
                section("Decisions", self.decisions),
                section("Next steps", self.next_steps),
                "Continue from the most recent messages.",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        def items(key: str) -> tuple[str, ...]:
            value = data.get(key) or ()
            if isinstance(value, str):
                value = [value]
            return tuple(str(v)[:400] for v in value if str(v).strip())[:12]

        return cls(
            goal=str(data.get("goal") or "").strip()[:1000],
            constraints=items("constraints"),
            progress=items("progress"),
            decisions=items("decisions"),
            next_steps=items("next_steps"),
        )


@dataclasses.dataclass
class Context:
    """The conversation's working memory: the latest summary and the messages after it."""

    summary: Summary | None = None
    messages: list[Message] = dataclasses.field(default_factory=list)
    steps: int = 0
    compactions: int = 0

    def append(self, message: Message) -> None:
        self.messages.append(message)
        if message.get("role") == "assistant":
            self.steps += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary.to_dict() if self.summary else None,
            "messages": self.messages,
            "steps": self.steps,
            "compactions": self.compactions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Context:
        data = data or {}
        summary = data.get("summary")
        return cls(
            summary=Summary.from_dict(summary) if summary else None,
            messages=list(data.get("messages") or []),
            steps=int(data.get("steps", 0)),
            compactions=int(data.get("compactions", 0)),
        )


def prompt_messages(system_text: str, context: Context) -> list[Message]:
    """The prompt, stable-prefix first; a summary merges into a leading user message."""
    messages: list[Message] = [{"role": "system", "content": system_text}]
    rest = list(context.messages)
    if context.summary is not None:
        text = context.summary.render()
        if rest and rest[0].get("role") == "user":
            text = f"{text}\n\n{text_of(rest.pop(0))}"
        messages.append({"role": "user", "content": text})
    return messages + rest


def clip_result(text: str, policy: CompactionPolicy) -> str:
    """One tool result never floods the prompt: the head is kept and the cut is said."""
    limit = policy.max_result_chars
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n…(clipped {len(text) - limit} characters; ask for less)"


def split(messages: list[Message], keep_recent: int) -> tuple[list[Message], list[Message]]:
    """(older, recent): recent never starts with a tool result cut from its call."""
    start = max(len(messages) - keep_recent, 0)
    while start > 0 and messages[start].get("role") == "tool":
        start -= 1
    return messages[:start], messages[start:]


def due(context: Context, policy: CompactionPolicy, prompt_tokens: int) -> bool:
    if not split(context.messages, policy.keep_recent)[0]:
        return False
    return context.steps >= policy.after_steps or prompt_tokens >= policy.at_tokens


def compact(context: Context, summary: Summary, keep_recent: int) -> Context:
    """The new context: ``summary`` replaces everything but the latest messages."""
    _, recent = split(context.messages, keep_recent)
    return Context(
        summary=summary,
        messages=recent,
        steps=sum(1 for m in recent if m.get("role") == "assistant"),
        compactions=context.compactions + 1,
    )


def rule_based_summary(previous: Summary | None, older: list[Message]) -> Summary:
    """A summary built without a model: the first request is the goal, tool outcomes are progress."""
    users = [text_of(m).strip() for m in older if m.get("role") == "user" and text_of(m).strip()]
    goal = previous.goal if previous else (users[0] if users else "help the user")
    constraints = list(previous.constraints if previous else ()) + [
        _clip(u, 300) for u in (users if previous else users[1:])
    ]
    progress = list(previous.progress if previous else ())
    decisions = list(previous.decisions if previous else ())
    names = _call_names(older)
    for message in older:
        if message.get("role") == "tool":
            name = names.get(str(message.get("tool_call_id")), "tool")
            progress.append(f"{name}: {_clip(_one_line(text_of(message)), 200)}")
        elif message.get("role") == "assistant" and text_of(message).strip():
            decisions.append(_clip(_one_line(text_of(message)), 200))
    return Summary(
        goal=_clip(goal, 1000),
        constraints=tuple(constraints[-8:]),
        progress=tuple(progress[-10:]),
        decisions=tuple(decisions[-8:]),
        next_steps=("continue from the most recent messages toward the goal",),
    )


def summarizer_messages(
    instructions: str, previous: Summary | None, older: list[Message]
) -> list[Message]:
    """The request asking the classifier model for a summary (instructions are a data file)."""
    payload = {
        "previous_summary": previous.to_dict() if previous else None,
        "messages": [_brief(m) for m in older],
    }
    return [
        {"role": "system", "content": instructions},
        {"role": "user", "content": canonical_json(payload)},
    ]


def parse_summary(text: str) -> Summary | None:
    """The first JSON object in ``text`` with a goal; None when there is none."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, dict) or not str(data.get("goal") or "").strip():
        return None
    return Summary.from_dict(data)


def _brief(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.get("role"), "content": _clip(text_of(message), 2000)}
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {"name": c["function"]["name"], "arguments": _clip(c["function"]["arguments"], 500)}
            for c in message["tool_calls"]
        ]
    return out


def _call_names(messages: list[Message]) -> dict[str, str]:
    return {
        str(call.get("id")): str(call["function"]["name"])
        for m in messages
        for call in m.get("tool_calls") or ()
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
