"""How a turn looks in the terminal: replies, each tool step as it happens, validation
reports, and at the end the skill's trigger, what it watches, where it posts, and the
command to review or approve it.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

ARG_KEYS = ("id", "topic", "name", "promql", "version", "mode")


def render(console: Console, event: dict[str, Any]) -> None:
    """Print one turn event; unknown kinds are ignored (newer servers, older CLIs)."""
    handler = RENDERERS.get(str(event.get("kind")))
    if handler is not None:
        handler(console, event)


def _queued(console: Console, event: dict[str, Any]) -> None:
    if event.get("ahead"):
        console.print(f"[dim]queued behind {event['ahead']} turn(s) of this conversation[/]")


def _reply(console: Console, event: dict[str, Any]) -> None:
    text = str(event.get("content") or "").strip()
    if text and event.get("tool_calls"):
        console.print(Text(text, style="italic dim"))
    if event.get("fallback"):
        console.print(f"[yellow]answered by the fallback model {event.get('model')}[/]")


def _tool_started(console: Console, event: dict[str, Any]) -> None:
    args = event.get("arguments") or {}
    shown = ", ".join(f"{k}={args[k]!r}" for k in ARG_KEYS if isinstance(args, dict) and k in args)
    console.print(f"[cyan]→ {event.get('name')}[/]({shown})")


def _tool_result(console: Console, event: dict[str, Any]) -> None:
    name = event.get("name")
    if not event.get("ok"):
        try:
            message = json.loads(event.get("content") or "{}").get("message")
        except ValueError:
            message = event.get("content")
        console.print(f"  [red]✗ {name}: {message}[/]")
        return
    check = event.get("check")
    data = event.get("data") or {}
    if check and check.get("kind") == "validation":
        _validation(console, check, data)
    elif check and check.get("kind") == "test":
        mark = "[green]✓ test run passed[/]" if check["ok"] else "[red]✗ test run failed[/]"
        console.print(f"  {mark}")
        if not check["ok"]:
            console.print(Text("    " + check.get("problem", "").replace("\n", "\n    ")))
    else:
        console.print(f"  [green]✓[/] [dim]{name}[/]")


def _validation(console: Console, check: dict[str, Any], data: dict[str, Any]) -> None:
    state, version = data.get("state"), data.get("version")
    where = f"version {version}, {state}" if version is not None else str(state)
    report = data.get("report") or {}
    if check["ok"]:
        console.print(f"  [green]✓ validated[/] ({where})")
    else:
        errors = [f for f in report.get("findings", []) if f.get("severity") == "error"]
        console.print(f"  [red]✗ validation failed, {len(errors)} error(s)[/] ({where})")
    for finding in report.get("findings", []):
        color = "red" if finding.get("severity") == "error" else "yellow"
        console.print(
            Text.assemble(
                (f"    {report.get('file')}:{finding.get('line')}: ", "dim"),
                (f"{finding.get('severity')} [{finding.get('rule')}] ", color),
                str(finding.get("message")),
            )
        )
        if finding.get("fix"):
            console.print(Text(f"        fix: {finding['fix']}", style="dim"))


def _compaction(console: Console, event: dict[str, Any]) -> None:
    console.print(f"[dim](compacted {event.get('folded')} earlier messages into a summary)[/]")


def _critic(console: Console, event: dict[str, Any]) -> None:
    notes = "; ".join(event.get("notes") or [])
    console.print(f"[magenta]reviewer[/]: score {event.get('score', 0):.2f} [dim]{notes}[/]")


def _budget(console: Console, event: dict[str, Any]) -> None:
    console.print(f"[yellow]budget: {event.get('message')}[/]")


def no_skill_reason(finished: dict[str, Any]) -> str:
    """Why a finished turn wrote no skill, plainly."""
    calls = (finished.get("loop") or {}).get("calls")
    if finished.get("reason") == "llm-not-configured":
        return "no LLM is configured"
    if calls == 0:
        return "the model made no tool call"
    reason = str(finished.get("reason") or "")
    if reason == "answered":
        return "the model answered without a valid skill (see the steps above)"
    return f"the turn ended early ({reason})"


def _finished(console: Console, event: dict[str, Any]) -> None:
    reply = str(event.get("reply") or "")
    console.print(Markdown(reply) if event.get("reason") == "answered" else Text(reply, "yellow"))
    skill = event.get("skill")
    if skill:
        facts = skill.get("facts") or {}
        lines = [
            f"[bold]{skill.get('id')}[/]  {facts.get('description') or ''}",
            f"trigger: {', '.join(facts.get('triggers') or []) or '-'}",
            f"watches: {', '.join(facts.get('watches') or []) or '-'}",
            f"posts:   {', '.join(facts.get('posts') or []) or '-'}",
            f"state:   {skill.get('state')}"
            + ("" if skill.get("registered") else " (not registered)"),
            f"review:  [bold]{skill.get('review_command')}[/]",
        ]
        console.print(Panel("\n".join(lines), title="skill", expand=False))
    else:
        console.print(f"[yellow]no skill written: {no_skill_reason(event)}[/]")
    cost = event.get("cost_usd")
    if cost is not None:
        console.print(
            f"[dim]{event.get('model_steps', 0)} model step(s), "
            f"{event.get('input_tokens', 0)} in / {event.get('output_tokens', 0)} out tokens, "
            f"${cost:.4f}[/]"
        )


RENDERERS = {
    "turn.queued": _queued,
    "model.reply": _reply,
    "tool.started": _tool_started,
    "tool.result": _tool_result,
    "compaction": _compaction,
    "critic": _critic,
    "budget.exhausted": _budget,
    "turn.finished": _finished,
}
