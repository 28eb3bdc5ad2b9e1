"""The agent: a durable chat agent that turns a requirement into a validated, reviewed skill.

Public names are loaded on first use (PEP 562), so ``import agent.llm`` in a test stays
light and no import cycle forms through this module. See README.md beside this file.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AgentClient": "agent.client",
    "AgentSettings": "agent.config",
    "AgentStore": "agent.store",
    "Runtime": "agent.runtime",
    "TURN_FINISHED": "agent.turn",
    "TURN_REQUESTED": "agent.turn",
    "Turn": "agent.turn",
    "create_app": "agent.app",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
