"""`loopwright runs`: watch runs start and finish, and read one run's timeline — from the run
ledger, so it works the same on the embedded engine and on real Inngest."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loopwright.ledger import LedgerError, LedgerReader, RunRecord, StepRecord
from loopwright.store import STORE_URL_ENV, StoreError, open_store
from sidecar.facade.text import printable

from .history_client import History, HistoryError, engine_url

runs_app = typer.Typer(
    name="runs",
    help="Runs of skills, core loops and the agent, from the platform's run ledger.",
    invoke_without_command=True,
)
console = Console()
STATUS_STYLE = {"running": "yellow", "completed": "green", "failed": "red", "cancelled": "dim"}
SHORT_ID = 14  # 10 characters of time, 4 of randomness; longer where another run shares them
OUTPUT_LINES = 40
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help=f"Platform store URL or SQLite path (default ${STORE_URL_ENV} or var/platform.db).",
    ),
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine", help="Engine URL for step outputs (default $LOOPWRIGHT_ENGINE_URL or :8288)."
    ),
]


def took(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1_000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms / 60_000:.1f}m"


def when(at: float, *, now: float | None = None) -> str:
    moment = dt.datetime.fromtimestamp(at).astimezone()
    today = dt.datetime.fromtimestamp(now or time.time()).astimezone().date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%m-%d %H:%M")


def subject(run: RunRecord) -> str:
    if run.skill_id:
        return f"{run.skill_id} v{run.skill_version}" if run.skill_version else run.skill_id
    return run.function_id.removeprefix(f"{run.app_id}-")


def _reader(store: str | None) -> LedgerReader:
    try:
        return LedgerReader(open_store(store))
    except (StoreError, Exception) as exc:
        typer.echo(f"loopwright runs: cannot open the platform store: {exc}", err=True)
        raise typer.Exit(1) from None


def runs_table(runs: list[RunRecord], short: dict[str, str]) -> Table:
    """``short``: each run's id cut to a prefix no other run shares (``short_ids``)."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("RUN", no_wrap=True)
    table.add_column("SKILL", overflow="ellipsis", max_width=24, no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("STARTED", no_wrap=True)
    table.add_column("TOOK", justify="right", no_wrap=True)
    table.add_column("TRY", justify="right", no_wrap=True)
    for run in runs:
        table.add_row(
            short.get(run.run_id, run.run_id),
            printable(subject(run)),
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            when(run.started_at),
            took(run.duration_ms),
            str(run.attempts),
        )
    return table


def run_line(run: RunRecord, short_id: str) -> Text:
    """One line of `runs --follow`: a run started, or ended."""
    ended = run.status != "running"
    stamp = when(run.ended_at if ended and run.ended_at else run.started_at)
    line = Text(f"{stamp}  {short_id}  ")
    line.append(f"{run.status:<9}", style=STATUS_STYLE.get(run.status, ""))
    line.append(f" {printable(subject(run))}")
    if ended:
        line.append(f"  {took(run.duration_ms)}", style="dim")
    if run.error_message:
        line.append(f"  {printable(run.error_message)[:120]}", style="red")
    return line


@runs_app.callback()
def runs_command(
    ctx: typer.Context,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep watching: a line per run that starts or ends."),
    ] = False,
    skill: Annotated[str | None, typer.Option(help="Only this skill or function id.")] = None,
    status: Annotated[
        str | None, typer.Option(help="running, completed, failed or cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    store: StoreOption = None,
) -> None:
    """List recent runs, newest first; with --follow, watch them start and end."""
    if ctx.invoked_subcommand is not None:
        return
    state = status.lower() if status else None
    reader = _reader(store)
    try:
        if follow:
            _follow(reader, skill, state, as_json)
            return
        runs = _matching(reader, skill, state, limit)
    except LedgerError as exc:
        typer.echo(f"loopwright runs: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        for run in runs:
            typer.echo(json.dumps(run.to_dict(), default=str))
    elif runs:
        console.print(runs_table(runs, reader.short_ids([r.run_id for r in runs], SHORT_ID)))
    else:
        console.print(
            "No runs recorded yet. Runs appear here as skills run "
            "(`loopwright skills list` shows what is live)."
        )


def _matching(
    reader: LedgerReader, skill: str | None, status: str | None, limit: int
) -> list[RunRecord]:
    if not skill:
        return reader.runs(status=status, limit=limit)
    runs = reader.runs(skill=skill, status=status, limit=limit)
    return runs or reader.runs(function=skill, status=status, limit=limit)


def _follow(reader: LedgerReader, skill: str | None, status: str | None, as_json: bool) -> None:
    seen: dict[str, str] = {}
    first = True
    try:
        while True:
            for run in reversed(_matching(reader, skill, status, 50)):
                if seen.get(run.run_id) == run.status:
                    continue
                seen[run.run_id] = run.status
                if as_json:
                    typer.echo(json.dumps(run.to_dict(), default=str))
                elif not first or run.status == "running":
                    short = reader.short_ids([run.run_id], SHORT_ID)[run.run_id]
                    console.print(run_line(run, short))
            if first and not as_json:
                console.print(Text("watching for runs (Ctrl-C to stop)", style="dim"))
            first = False
            time.sleep(1)
    except KeyboardInterrupt:
        return


@runs_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run's id, or a unique prefix of it.")],
    as_json: Annotated[bool, typer.Option("--json", help="The raw record as JSON.")] = False,
    outputs: Annotated[
        bool,
        typer.Option(
            "--outputs", help="Also each step's output, from the engine where it offers them."
        ),
    ] = False,
    store: StoreOption = None,
    engine: EngineOption = None,
) -> None:
    """One run: what triggered it, how it ended, its steps in order, and what it decided."""
    reader = _reader(store)
    try:
        run = reader.run(run_id)
        steps = reader.steps(run.run_id)
        decisions = (
            [d.to_dict() for d in reader.decisions(run.skill_id, 0, 1e12) if d.run_id == run.run_id]
            if run.skill_id
            else []
        )
    except LedgerError as exc:
        typer.echo(f"loopwright runs show: {exc}", err=True)
        raise typer.Exit(1) from None
    step_outputs = _engine_outputs(run.run_id, engine) if outputs else None
    if as_json:
        body: dict[str, Any] = {
            **run.to_dict(),
            "steps": [s.to_dict() for s in steps],
            "decisions": decisions,
        }
        if isinstance(step_outputs, list):
            body["engine_steps"] = step_outputs
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    _print_header(run)
    console.print(steps_table(steps))
    for parked in _parked(run.run_id, engine):
        console.print(
            Text(
                f"parked: {parked.get('kind')} {parked.get('step_id') or ''} after "
                f"{parked.get('failures')} failures: {printable(str(parked.get('error')))}",
                style="bold red",
            )
        )
    for d in decisions:
        fallback = ", fallback" if d["fallback"] else ""
        console.print(
            Text(
                f"  decided {printable(str(d['subject']))}: {printable(str(d['label']))} "
                f"(by {printable(str(d['decided_by']))}{fallback})"
            )
        )
    if isinstance(step_outputs, str):
        console.print(Text(step_outputs, style="dim"))
    elif step_outputs:
        console.print(Text("step outputs (engine):", style="bold"))
        for step in step_outputs:
            shown = step.get("error") if step.get("error") is not None else step.get("output")
            console.print(Text(f"  {printable(str(step.get('name')))}:"))
            _print_json(shown, indent="    ")
    if run.output is not None:
        console.print(Text("output:", style="bold"))
        _print_json(run.output, indent="  ")


def _print_header(run: RunRecord) -> None:
    started = dt.datetime.fromtimestamp(run.started_at).astimezone().isoformat(timespec="seconds")
    trigger = f"cron {run.cron}" if run.cron else f"{run.trigger} {run.event_name or ''}"
    console.print(
        Text.assemble(
            (f"{printable(subject(run))}  ", "bold"), (run.status, STATUS_STYLE.get(run.status, ""))
        )
    )
    attempts = f"{run.attempts} attempt{'s' if run.attempts != 1 else ''}"
    lines = [
        f"run      {run.run_id}",
        f"function {printable(run.function_id)}",
        f"trigger  {printable(trigger.strip())}",
        f"started  {started}, took {took(run.duration_ms)}, {attempts}",
    ]
    if run.llm_calls:
        lines.append(
            f"llm      {run.llm_calls} calls, {run.input_tokens}+{run.output_tokens} "
            f"tokens, ${run.cost_usd:.4f}"
        )
    if run.fallback:
        lines.append("fallback a fallback decided in this run")
    for line in lines:
        console.print(Text(line))
    if run.error_message:
        code = f"[{run.error_code}] " if run.error_code else ""
        console.print(Text(f"error    {code}{printable(run.error_message)}", style="red"))


def step_title(step: StepRecord) -> str:
    """The step's ledger name when a label made it say more than its id ("classify
    (checkout)"), else its id ("classify:1")."""
    base = step.step_id.partition(":")[0]
    return step.name if step.name and step.name != base else step.step_id


def steps_table(steps: list[StepRecord]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, justify in (
        ("#", "right"),
        ("STEP", "left"),
        ("STATUS", "left"),
        ("TRY", "right"),
        ("TOOK", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("ERROR", overflow="fold")
    for i, step in enumerate(steps, 1):
        table.add_row(
            str(i),
            printable(step_title(step)),
            Text(step.status, style=STATUS_STYLE.get(step.status, "")),
            str(step.attempt + 1),
            took(step.duration_ms),
            printable(step.error_message or ""),
        )
    return table


def rounded(value: Any) -> Any:
    """Numbers as a person reads them: 3 significant digits below 1, 3 decimals above
    (0.31901516500894034 -> 0.319; a timestamp keeps its seconds). `--json` has them raw."""
    if isinstance(value, float):
        return round(value, 3) if abs(value) >= 1 else float(f"{value:.3g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def _print_json(value: Any, *, indent: str) -> None:
    """Pretty JSON, rounded, cut at a line boundary (never mid-token) with the count of what
    is left."""
    lines = json.dumps(rounded(value), indent=2, default=str, ensure_ascii=False).splitlines()
    for line in lines[:OUTPUT_LINES]:
        console.print(Text(indent + printable(line)), soft_wrap=True)
    if len(lines) > OUTPUT_LINES:
        console.print(
            Text(f"{indent}… {len(lines) - OUTPUT_LINES} more lines (--json for all)", style="dim")
        )


def _parked(run_id: str, engine: str | None) -> list[dict[str, Any]]:
    """Work the engine gave up on after internal errors, where the engine reports it (the
    embedded one does); nothing when it is unreachable or does not say."""
    history = History(engine_url(engine))
    try:
        parked = history.run(run_id).get("parked")
    except HistoryError:
        return []
    finally:
        history.close()
    return [p for p in parked if isinstance(p, dict)] if isinstance(parked, list) else []


def _engine_outputs(run_id: str, engine: str | None) -> list[dict[str, Any]] | str:
    """The engine's step list with outputs, or a sentence saying why there is none."""
    history = History(engine_url(engine))
    try:
        return history.steps(run_id)
    except HistoryError as exc:
        return (
            f"step outputs: not available from the engine ({exc}); real Inngest does not "
            "offer them — the ledger above has the timeline"
        )
    finally:
        history.close()
