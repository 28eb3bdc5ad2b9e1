"""`loopwright incidents`: open and past incidents, their threads, acknowledgements, silences."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import textwrap
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loopwright.store import STORE_URL_ENV, open_store, store_exists
from sidecar.facade.text import printable
from skills_core.capabilities.incidents import Incident, IncidentNotFound, IncidentStore
from skills_core.capabilities.notify.inbox import read_inbox
from skills_core.capabilities.settings import capabilities_db

incidents_app = typer.Typer(
    name="incidents",
    help="Incidents the health check opened: open, updated, resolved, reopened.",
    invoke_without_command=True,
)
console = Console()
STATE_STYLE = {"open": "red", "resolved": "green"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help=f"Platform store URL or SQLite path (default ${STORE_URL_ENV} or var/platform.db).",
    ),
]


def duration_seconds(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1d`` → seconds; anything else is refused, naming the form."""
    found = _DURATION.match(text.strip().lower())
    if not found or float(found.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: give a duration like 30m, 2h or 1d")
    return float(found.group(1)) * _UNIT_S[found.group(2)]


def _store(store: str | None) -> IncidentStore:
    return IncidentStore(open_store(store))


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return dt.datetime.fromtimestamp(at).astimezone().strftime("%m-%d %H:%M")


def _row(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "service": incident.service,
        "state": incident.state,
        "severity": incident.severity,
        "signals": list(incident.signals),
        "reason": incident.reason,
        "onset": incident.onset,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at,
        "revision": incident.revision,
        "reopened": incident.reopened,
        "acked_by": incident.acked_by,
        "acked_at": incident.acked_at,
        "open_minutes": round(incident.open_minutes, 1),
    }


@incidents_app.callback()
def incidents_command(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
    store: StoreOption = None,
) -> None:
    """List incidents, newest activity first, and the silences in force."""
    if ctx.invoked_subcommand is not None:
        return
    incidents = _store(store)
    found = incidents.recent(open_only=open_only, limit=limit)
    if as_json:
        for incident in found:
            typer.echo(json.dumps(_row(incident)))
        return
    if not found:
        console.print(
            "No incidents."
            if open_only
            else "No incidents yet: the health check "
            "opens one when a service is degraded or critical."
        )
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("INCIDENT", "STATE", "SEVERITY", "SIGNALS", "ONSET", "FOR", "ACK"):
            table.add_column(col, no_wrap=col != "SIGNALS")
        for i in found:
            table.add_row(
                printable(i.id),
                Text(i.state, style=STATE_STYLE.get(i.state, "")),
                i.severity,
                printable(",".join(i.signals)),
                _when(i.onset),
                f"{i.open_minutes:.0f}m",
                printable(i.acked_by or ""),
            )
        console.print(table)
    for s in incidents.silences():
        console.print(
            Text(
                f"silenced: {printable(s['service'])} until {_when(s['until'])} by "
                f"{printable(s['by'])}{': ' + printable(s['reason']) if s['reason'] else ''}",
                style="yellow",
            )
        )


@incidents_app.command("show")
def show_command(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON.")] = False,
    store: StoreOption = None,
    inbox: Annotated[
        str | None,
        typer.Option(
            help="Capabilities store with the inbox: a SQLite path or a store URL "
            "(default $LOOPWRIGHT_CAPABILITIES_DB or var/capabilities.db)."
        ),
    ] = None,
) -> None:
    """One incident and its thread: the alert, the triage summary, updates, resolution."""
    try:
        incident = _store(store).get(incident_id)
    except IncidentNotFound as exc:
        typer.echo(f"loopwright incidents show: {exc}", err=True)
        raise typer.Exit(1) from None
    path = inbox or capabilities_db()
    thread = read_inbox(path, thread_key=incident.id, limit=1000) if store_exists(path) else []
    if as_json:
        body = {**_row(incident), "thread": [json.loads(m.model_dump_json()) for m in thread]}
        typer.echo(json.dumps(body, indent=2))
        return
    lines = [
        f"{incident.id}  {incident.state}  {incident.severity}",
        f"service  {incident.service}",
        f"signals  {', '.join(incident.signals)}",
        f"reason   {incident.reason}",
        f"onset    {_when(incident.onset)}, open {incident.open_minutes:.0f} min, "
        f"revision {incident.revision}, reopened {incident.reopened}x",
    ]
    if incident.acked_by:
        lines.append(f"acked    by {incident.acked_by} at {_when(incident.acked_at)}")
    for line in lines:
        console.print(Text(printable(line)))
    if not thread:
        console.print(
            Text("thread: no messages in the inbox (Slack-only, or not posted yet)", style="dim")
        )
    for msg in thread:
        console.print(Text(f"{msg.at:%m-%d %H:%M} {printable(msg.skill_id)}:", style="bold"))
        # indented as a block: a line wrapped at the terminal's edge stays under its message
        for line in printable(msg.text).replace("\\n", "\n").split("\n"):
            under = "    " if line.startswith("- ") else "  "  # a list item's text aligned
            wrapped = textwrap.wrap(
                line, console.width, initial_indent="  ", subsequent_indent=under,
                break_on_hyphens=False,
            )  # fmt: skip
            console.print(Text("\n".join(wrapped or [""])))


@incidents_app.command("ack")
def ack_command(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")],
    by: Annotated[str | None, typer.Option(help="Who acknowledges (default: you).")] = None,
    store: StoreOption = None,
) -> None:
    """Acknowledge an incident: someone is on it."""
    who = by or getpass.getuser()
    try:
        incident = _store(store).ack(incident_id, who)
    except IncidentNotFound as exc:
        typer.echo(f"loopwright incidents ack: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{incident.id} acknowledged by {who}")


@incidents_app.command("silence")
def silence_command(
    service: Annotated[str, typer.Argument(help="The service to silence.")],
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = "1h",
    reason: Annotated[str, typer.Option(help="Why (shown with the silence).")] = "",
    by: Annotated[str | None, typer.Option(help="Who silences (default: you).")] = None,
    store: StoreOption = None,
) -> None:
    """Stop posting and triaging a service's incidents for a while (they are still tracked)."""
    seconds = duration_seconds(for_)
    until = _store(store).silence(
        service, seconds=seconds, by=by or getpass.getuser(), reason=reason
    )
    typer.echo(
        f"{service} silenced until {_when(until)} ({for_}); "
        f"`loopwright incidents unsilence {service}` ends it"
    )


@incidents_app.command("unsilence")
def unsilence_command(
    service: Annotated[str, typer.Argument(help="The silenced service.")],
    store: StoreOption = None,
) -> None:
    """End a silence before it expires."""
    if not _store(store).unsilence(service):
        typer.echo(f"loopwright incidents unsilence: {service!r} is not silenced", err=True)
        raise typer.Exit(1)
    typer.echo(f"{service} is no longer silenced")
