"""`loopwright config`: check the configuration, show it, print its reference table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .checks import config_checks
from .environ import as_environ
from .model import ConfigError, load_config
from .reference import keys_table

config_app = typer.Typer(
    name="config", help="loopwright.toml: check, show, list keys.", no_args_is_help=True
)
PathOption = Annotated[
    Path | None,
    typer.Option("--config", help="The file (default $LOOPWRIGHT_CONFIG or ./loopwright.toml)."),
]
MARK = {True: "ok  ", False: "FAIL", None: "--  "}


@config_app.command("check")
def check_command(path: PathOption = None) -> None:
    """Validate the file and run each health-check signal once against Prometheus."""
    failed = False
    for check in config_checks(path):
        typer.echo(f"{MARK[check.ok]} {check.name}: {check.detail}")
        if check.fix and check.ok is not True:
            typer.echo(f"      fix: {check.fix}")
        failed |= check.ok is False
    raise typer.Exit(1 if failed else 0)


@config_app.command("show")
def show_command(
    path: PathOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON.")] = False,
) -> None:
    """The effective settings (file, then variables over it), as variables; secrets hidden."""
    try:
        config = load_config(path)
    except ConfigError as err:
        typer.echo(f"loopwright config: {err}", err=True)
        raise typer.Exit(2) from None
    secret = ("KEY", "TOKEN", "WEBHOOK")
    shown = {
        k: ("***" if any(s in k for s in secret) else v) for k, v in as_environ(config).items()
    }
    typer.echo(
        json.dumps(shown, indent=2) if as_json else "\n".join(f"{k}={v}" for k, v in shown.items())
    )


@config_app.command("keys")
def keys_command() -> None:
    """Every key, its variable, default and meaning (the table in docs/configuration.md)."""
    typer.echo(keys_table())
