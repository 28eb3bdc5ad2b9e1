"""Classification by prompt: the system prompt (a data file) and reading the model's reply.

Models answer loosely, so the reply is read leniently — JSON (fenced or not) first, then a
lone label word — but never guessed: a reply naming no label, or several, is ``bad-reply``
and the skill falls back to its rules.
"""

from __future__ import annotations

import json
import re
import string
from importlib import resources

from ..errors import LLMUnavailable

CLASSIFY_MAX_TOKENS = 120
_TEMPLATE = string.Template(
    resources.files(__package__).joinpath("prompts/classify.txt").read_text(encoding="utf-8")
)
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def system_prompt(labels: list[str], instructions: str | None) -> str:
    return _TEMPLATE.substitute(
        labels=", ".join(labels), instructions=(instructions or "").strip()
    ).strip()


def parse_reply(reply: str, labels: list[str]) -> tuple[str, str]:
    """``(label, reason)`` from the model's reply, with the label spelled as given."""
    by_lower = {label.lower(): label for label in labels}
    match = _OBJECT.search(reply)
    if match:
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            label = by_lower.get(str(data.get("label", "")).strip().lower())
            if label:
                return label, _one_line(str(data.get("reason", "")))
    named = [
        label
        for lower, label in by_lower.items()
        if re.search(rf"\b{re.escape(lower)}\b", reply.lower())
    ]
    if len(named) == 1:
        return named[0], _one_line(reply)
    raise LLMUnavailable(
        f"the model's reply names {'no' if not named else 'several'} of the labels {labels}: "
        f"{reply[:200]!r}",
        reason="bad-reply",
        retriable=False,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
