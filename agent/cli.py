"""``loopwright chat``, ``loopwright eval`` and ``loopwright agent``: the agent's commands.

``app`` is a Typer sub-app; the main CLI adds its commands (``chat_command``,
``eval_command``, ``serve_command``). ``chat`` talks to the running agent over its HTTP API
and streams each turn over SSE; ``eval`` runs in process against the configured LLM.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent.client import AgentClient
from agent.console import render
from agent.errors import AgentError

DEFAULT_URL = "http://127.0.0.1:8289"
app = typer.Typer(help="Chat with the agent that writes skills.", add_completion=False)


def _url(url: str | None) -> str:
    return url or os.environ.get("LOOPWRIGHT_AGENT_URL", DEFAULT_URL)


def chat_command(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send one message and exit.")
    ] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Resume this conversation.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List conversations and exit.")] = False,
    url: Annotated[
        str | None, typer.Option(help="The agent's URL ($LOOPWRIGHT_AGENT_URL).")
    ] = None,
) -> None:
    """Chat a requirement to the agent; it writes, validates and explains a skill."""
    console = Console()
    client = AgentClient(_url(url))
    try:
        status = client.status()
        if list_:
            _list(console, client.conversations())
            return
        if not status["llm_configured"]:
            console.print(status["setup_hint"], style="yellow")
            raise typer.Exit(1)
        cid = conversation or client.create((message or "chat")[:80])
        if message is not None and not _turn(console, client, cid, message):
            raise typer.Exit(1)  # one-shot: no skill written is a failure scripts can see
        if message is not None:
            return
        console.print(f"[dim]conversation {cid} — Ctrl-D or 'exit' to leave[/]")
        while True:
            try:
                text = console.input("[bold green]you>[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if text in ("exit", "quit"):
                return
            if text:
                _turn(console, client, cid, text)
    except AgentError as err:
        console.print(f"[red]{err.message}[/]")
        raise typer.Exit(1) from None
    finally:
        client.close()


def _turn(console: Console, client: AgentClient, cid: str, text: str) -> bool:
    """Run one turn, rendering it; whether it wrote a skill."""
    posted = client.post(cid, text)
    wrote = False
    with console.status("thinking…"):
        for event in client.events(cid, posted["turn_id"]):
            render(console, event)
            if event.get("kind") == "turn.finished":
                wrote = bool(event.get("skill"))
    return wrote


def _list(console: Console, conversations: list[dict[str, Any]]) -> None:
    table = Table("id", "title", "turns", "cost", box=None)
    for c in conversations:
        table.add_row(c["id"], c["title"], str(c["turns"]), f"${c['cost_usd']:.4f}")
    console.print(table)
    console.print("[dim]resume one with: loopwright chat -c ID[/]")


def eval_command(
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, help="Runs per scenario.")] = 3,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Only these scenarios.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the requirement scenarios N times against the configured LLM and report."""
    from agent.config import AgentSettings
    from agent.eval import RunResult, load, run_eval

    console = Console(stderr=as_json)
    settings = AgentSettings.from_env()
    if not settings.llm_configured:
        console.print(settings.setup_hint(), style="yellow")
        raise typer.Exit(1)

    def progress(r: RunResult) -> None:
        mark = "[green]✓[/]" if r.success else "[red]✗[/]"
        console.print(
            f"{mark} {r.scenario} #{r.run + 1}: score {r.score:.2f} ({r.reason}, "
            f"{r.latency_s:.1f}s, ${r.cost_usd:.4f})"
        )

    report = run_eval(settings, load(names=tuple(scenario or ())), runs, progress=progress)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    _report(console, report)


def _report(console: Console, report: dict[str, Any]) -> None:
    table = Table(
        "scenario", "runs", "success", "accuracy", "score", "ICIR", "latency", "tokens", "cost"
    )
    rows = [*report["scenarios"].items(), ("overall", report["overall"])]
    for name, s in rows:
        accuracy = s["tool_call_accuracy"]
        ic = s["icir"]
        table.add_row(
            name,
            str(s["runs"]),
            f"{s['success_rate']:.0%}",
            "-" if accuracy is None else f"{accuracy:.0%}",
            f"{s['mean_score']:.2f}",
            "no spread" if ic is None else f"{ic:.2f}",
            f"{s['latency_s_mean']:.1f}s",
            f"{s['input_tokens']}/{s['output_tokens']}",
            f"${s['cost_usd']:.4f}",
        )
    console.print(table)


def serve_command() -> None:
    """Serve the agent (its Inngest functions and HTTP API) on $LOOPWRIGHT_AGENT_PORT."""
    from agent.__main__ import main

    main()


app.command("chat")(chat_command)
app.command("eval")(eval_command)
app.command("serve")(serve_command)
