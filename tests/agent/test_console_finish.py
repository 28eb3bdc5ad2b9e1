"""The end of a turn says plainly when no skill was written, and why."""

from __future__ import annotations

from rich.console import Console

from agent.console import render


def _shown(event: dict[str, object]) -> str:
    console = Console(record=True, width=120)
    render(console, {"kind": "turn.finished", **event})
    return console.export_text()


def test_a_turn_without_a_tool_call_says_the_model_made_none() -> None:
    out = _shown({"reason": "answered", "reply": "Sure!", "skill": None, "loop": {"calls": 0}})
    assert "no skill written: the model made no tool call" in out


def test_a_turn_that_stopped_early_names_the_reason() -> None:
    out = _shown({"reason": "budget", "reply": "spent", "skill": None, "loop": {"calls": 4}})
    assert "no skill written: the turn ended early (budget)" in out


def test_a_turn_with_a_skill_says_nothing_of_the_kind() -> None:
    skill = {"id": "latency-watch", "facts": {}, "state": "active", "registered": True}
    out = _shown({"reason": "answered", "reply": "done", "skill": skill, "loop": {"calls": 3}})
    assert "no skill written" not in out and "latency-watch" in out
