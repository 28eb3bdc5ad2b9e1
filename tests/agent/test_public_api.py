"""The agent's public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import agent


def test_public_names() -> None:
    assert agent.__all__ == [
        "AgentClient",
        "AgentSettings",
        "AgentStore",
        "Runtime",
        "TURN_FINISHED",
        "TURN_REQUESTED",
        "Turn",
        "create_app",
    ]
    for name in agent.__all__:
        assert getattr(agent, name) is not None
    assert agent.TURN_REQUESTED == "loopwright/agent.turn.requested"
