"""`loopwright engine` / `python -m engine`: start the embedded Inngest-compatible engine."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from .backoff import Backoff
from .config import EngineConfig
from .durations import DurationError
from .store import Durability


def engine_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (or --host) to serve on.")] = 8288,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    db: Annotated[Path, typer.Option(help="SQLite file holding all engine state.")] = Path(
        "var/engine.db"
    ),
    sdk_url: Annotated[
        list[str] | None,
        typer.Option("--sdk-url", "-u", help="An app's serve URL to sync at start (repeatable)."),
    ] = None,
    retry_backoff: Annotated[
        str,
        typer.Option(
            help="'inngest' (15 s, 30 s, 1 m, ... with jitter) or a flat duration like '1s'."
        ),
    ] = "inngest",
    durability: Annotated[
        Durability, typer.Option(help="'normal' survives crashes; 'full' also power loss (fsync).")
    ] = Durability.NORMAL,
    signing_key: Annotated[
        list[str] | None,
        typer.Option(
            help="Enable cloud-mode auth with this signing key (repeatable: key, fallback). "
            "Default: $INNGEST_SIGNING_KEY, $INNGEST_SIGNING_KEY_FALLBACK."
        ),
    ] = None,
    event_key: Annotated[
        list[str] | None,
        typer.Option(help="Accept only these event keys on /e/{key} (repeatable). Default: any."),
    ] = None,
    max_in_flight: Annotated[
        int,
        typer.Option(
            help="Engine-wide cap on concurrent SDK calls; more runs than this wait in the queue."
        ),
    ] = 100,
    cron_grace: Annotated[
        float,
        typer.Option(help="Seconds a cron tick missed while the engine was down may still fire."),
    ] = 300.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Start the embedded engine: a durable, Inngest-compatible server for the official SDK."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        Backoff(retry_backoff)
    except DurationError as exc:
        raise typer.BadParameter(f"--retry-backoff: {exc}") from None
    keys = signing_key or [
        k
        for k in (
            os.environ.get("INNGEST_SIGNING_KEY"),
            os.environ.get("INNGEST_SIGNING_KEY_FALLBACK"),
        )
        if k
    ]
    config = EngineConfig(
        host=host,
        port=port,
        db_path=db,
        sdk_urls=tuple(sdk_url or ()),
        retry_backoff=retry_backoff,
        durability=durability,
        signing_keys=tuple(keys),
        event_keys=tuple(event_key or ()),
        max_in_flight=max_in_flight,
        cron_grace_s=cron_grace,
    )
    from .server import run

    run(config)


def main() -> None:
    typer.run(engine_command)
