"""`loopwright runs`: watch runs start and finish, and read one run's step timeline."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .history_client import History, HistoryError, engine_url

runs_app = typer.Typer(
    name="runs",
    help="Runs of skills and core loops, from the engine's history API.",
    invoke_without_command=True,
)
console = Console()
STATUS_STYLE = {"Running": "yellow", "Completed": "green", "Failed": "red", "Cancelled": "dim"}
EngineOption = Annotated[
    str | None,
    typer.Option("--engine", help="Engine URL (default $LOOPWRIGHT_ENGINE_URL or :8288)."),
]


def _parse(ts: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


def duration(start: str | None, end: str | None) -> str:
    begin, finish = _parse(start), _parse(end)
    if begin is None:
        return "-"
    seconds = ((finish or dt.datetime.now(dt.UTC)) - begin).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _runs_table(history: History, runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Runs (newest first)", expand=True)
    for col in ("run", "function", "status", "started", "took", "steps", "retries"):
        table.add_column(col)
    for run in runs:
        steps = history.steps(run["run_id"])
        retries = sum(max(0, s["attempts"] - 1) for s in steps)
        status = run["status"]
        table.add_row(
            run["run_id"],
            run.get("function_slug") or run["function_id"],
            Text(status, style=STATUS_STYLE.get(status, "")),
            (run["run_started_at"] or "")[11:19],
            duration(run["run_started_at"], run["ended_at"]),
            str(len(steps)),
            str(retries),
        )
    return table


@runs_app.callback()
def runs_command(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep watching, live.")] = False,
    skill: Annotated[str | None, typer.Option(help="Only this skill or function id.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Running, Completed, Failed or Cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    engine: EngineOption = None,
) -> None:
    """List recent runs; with --follow, a live view of runs as they start and finish."""
    if ctx.invoked_subcommand is not None:
        return
    history = History(engine_url(engine))
    try:
        function = history.resolve_function(skill) if skill else None
        if not follow:
            runs = history.runs(function=function, status=status, limit=limit)
            if as_json:
                for run in runs:
                    typer.echo(json.dumps({**run, "steps": history.steps(run["run_id"])}))
            else:
                console.print(_runs_table(history, runs))
            return
        _follow(history, function, status, limit, as_json)
    except HistoryError as exc:
        typer.echo(f"loopwright runs: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        history.close()


def _follow(
    history: History, function: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    seen: dict[str, str] = {}
    if as_json:
        while True:
            for run in reversed(history.runs(function=function, status=status, limit=limit)):
                if seen.get(run["run_id"]) != run["status"]:
                    seen[run["run_id"]] = run["status"]
                    typer.echo(json.dumps(run), nl=True)
            time.sleep(1)
    with Live(console=console, refresh_per_second=2) as live:
        while True:
            runs = history.runs(function=function, status=status, limit=limit)
            live.update(Group(_runs_table(history, runs), Text("Ctrl-C to stop", style="dim")))
            time.sleep(1)


@runs_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    engine: EngineOption = None,
) -> None:
    """One run's step timeline with inputs, outputs and errors."""
    history = History(engine_url(engine))
    try:
        run, steps = history.run(run_id), history.steps(run_id)
    except HistoryError as exc:
        typer.echo(f"loopwright runs show: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        history.close()
    if as_json:
        typer.echo(json.dumps({**run, "steps": steps}, indent=2))
        return
    style = STATUS_STYLE.get(run["status"], "")
    console.print(
        Text.assemble(
            (f"{run.get('function_slug')} ", "bold"),
            (run["status"], style),
            f"  started {run['run_started_at']}  took {duration(run['run_started_at'], run['ended_at'])}",
        )
    )
    table = Table(expand=True)
    for col in ("#", "step", "kind", "status", "attempts", "took", "output / error"):
        table.add_column(col, overflow="fold")
    for i, step in enumerate(steps, 1):
        shown = step["error"] if step["error"] is not None else step["output"]
        table.add_row(
            str(i),
            step["name"],
            step["kind"],
            Text(step["status"], style=STATUS_STYLE.get(step["status"], "")),
            str(step["attempts"]),
            duration(step["started_at"], step["ended_at"]),
            json.dumps(shown)[:300],
        )
    console.print(table)
    if run["output"] is not None:
        console.print(Text("output: ", style="bold") + Text(json.dumps(run["output"])[:2000]))
