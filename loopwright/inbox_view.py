"""`loopwright inbox`: what skills posted to the local channel (the default when Slack is off)."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from loopwright.store import store_exists
from sidecar.facade.text import printable
from skills_core.capabilities.notify.inbox import InboxMessage, read_inbox
from skills_core.capabilities.settings import capabilities_db

console = Console(soft_wrap=True)


def inbox_command(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new messages.")
    ] = False,
    thread: Annotated[str | None, typer.Option(help="Only this thread (incident) key.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the latest messages to show first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    db: Annotated[
        str | None,
        typer.Option(
            help="Capabilities store: a SQLite path or a store URL "
            "(default $LOOPWRIGHT_CAPABILITIES_DB or var/capabilities.db)."
        ),
    ] = None,
) -> None:
    """Show messages skills posted to the local inbox."""
    path = db or capabilities_db()
    if not store_exists(path):
        typer.echo(f"loopwright inbox: no inbox yet at {path} (nothing has been posted)", err=True)
        raise typer.Exit(1)
    messages = read_inbox(path, thread_key=thread, limit=100_000)[-limit:]
    last = messages[-1].id if messages else 0
    for msg in messages:
        _print(msg, as_json)
    while follow:
        time.sleep(1)
        for msg in read_inbox(path, after_id=last, thread_key=thread):
            _print(msg, as_json)
            last = msg.id


def _print(msg: InboxMessage, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**msg.model_dump(mode="json"), "message_id": msg.message_id}))
        return
    thread = f" (thread {msg.thread_key})" if msg.thread_key else ""
    console.print(
        f"[dim]{msg.at:%Y-%m-%d %H:%M:%S}[/dim] [cyan]{escape(printable(msg.message_id))}[/cyan] "
        f"[bold]{escape(printable(msg.skill_id))}[/bold] → "
        f"{escape(printable(msg.delivered))}{escape(printable(thread))}",
        markup=True,
        highlight=False,
    )
    # Skill-written text: escaped, so it cannot move the cursor, recolour or fake a line.
    console.print(f"  {printable(msg.text, keep_newlines=True)}", markup=False)
