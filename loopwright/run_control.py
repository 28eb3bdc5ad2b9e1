"""Act on the engine from the terminal: `loopwright send`, `runs cancel`, `runs rerun`.

All three go through the platform's one engine client, so they work against the embedded
engine and real Inngest alike (`runs rerun` of a cron or invoked run needs the embedded
engine's invoke; on Inngest it says so). Exit codes: 0 done, 1 the engine refused or was not
reachable, 2 bad input (nothing sent).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, NoReturn

import typer

from .engine_client import EngineClient, EngineError, EngineTarget, TargetError
from .runs_view import runs_app

INTERNAL_PREFIX = "inngest/"
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Engine URL (default: $LOOPWRIGHT_ENGINE_URL, else $INNGEST_BASE_URL, else :8288).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _client(engine: str | None, command: str) -> EngineClient:
    try:
        return EngineClient(EngineTarget.from_env(url=engine))
    except TargetError as err:
        _fail(command, str(err), 2)


def _fail(command: str, message: str, code: int = 1) -> NoReturn:
    typer.echo(f"loopwright {command}: {message}", err=True)
    raise typer.Exit(code)


def parse_data(raw: str | None) -> dict[str, Any]:
    """``--data``: a JSON object. Raises ValueError saying what is wrong."""
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"--data is not valid JSON ({err.msg} at character {err.pos}); "
            """quote it for the shell, e.g. --data '{"service": "checkout"}'"""
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"--data must be a JSON object {{...}}, got {type(data).__name__}")
    return data


def _report(as_json: bool, result: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(result) if as_json else text)


def send_command(
    event_name: Annotated[str, typer.Argument(help="The event's name, e.g. deploy/created.")],
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="The event's data: a JSON object.")
    ] = None,
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one event to the engine (skills triggered by it start a run)."""
    if not event_name.strip() or event_name.startswith(INTERNAL_PREFIX):
        _fail(
            "send", f"event names under {INTERNAL_PREFIX!r} are the engine's own; pick another", 2
        )
    try:
        payload = parse_data(data)
    except ValueError as err:
        _fail("send", f"{err}. Nothing was sent.", 2)
    with _client(engine, "send") as client:
        try:
            ids = client.send(event_name, payload)
        except EngineError as err:
            _fail("send", str(err))
    _report(as_json, {"name": event_name, "ids": ids}, f"sent {event_name}: {', '.join(ids)}")


@runs_app.command("cancel")
def cancel_command(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a run: it stops before its next step (a step in flight runs to its end)."""
    with _client(engine, "runs cancel") as client:
        try:
            client.cancel(run_id)
            status = client.run(run_id)["status"]
        except EngineError as err:
            _fail("runs cancel", str(err))
    _report(as_json, {"run_id": run_id, "status": status}, f"run {run_id}: {status}")


@runs_app.command("rerun")
def rerun_command(
    run_id: Annotated[str, typer.Argument(help="The run whose event to send again.")],
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a run again with the same event (its name and data; a new event id)."""
    with _client(engine, "runs rerun") as client:
        try:
            result = rerun(client, run_id)
        except EngineError as err:
            _fail("runs rerun", str(err))
    new_run = result.get("new_run_id") or "(not started yet; see `loopwright runs`)"
    _report(as_json, result, f"rerun of {run_id}: sent {result['event']}; new run {new_run}")


def rerun(client: EngineClient, run_id: str, wait_s: float = 5.0) -> dict[str, Any]:
    run = client.run(run_id)
    original = client.event(str(run["event_id"])) if run.get("event_id") else None
    name = str(original["name"]) if original else ""
    data = dict(original.get("data") or {}) if original else {}
    if not name or name.startswith(INTERNAL_PREFIX):
        # A cron tick or an invocation: the engine's own event cannot be sent; invoke instead.
        data.pop("_inngest", None)
        slug = str(run.get("function_slug") or "")
        if not slug:
            raise EngineError(f"run {run_id} has no user event to resend and no function slug")
        event_id, name = client.invoke(slug, data), f"an invocation of {slug}"
    else:
        event_id = client.send(name, data)[0]
    return {
        "run_id": run_id,
        "event": name,
        "event_id": event_id,
        "new_run_id": _first_run(client, event_id, wait_s),
    }


def _first_run(client: EngineClient, event_id: str, wait_s: float) -> str | None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        runs = client.event_runs(event_id)
        if runs:
            return str(runs[0]["run_id"])
        time.sleep(0.1)
    return None
