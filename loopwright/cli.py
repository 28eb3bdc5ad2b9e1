"""The `loopwright` command: one entry point for every part of the platform."""

from __future__ import annotations

import typer

from engine.cli import engine_command

from .up import up_command

app = typer.Typer(
    name="loopwright",
    help="Loopwright: agents write durable Inngest skills; the platform validates and runs them.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("engine")(engine_command)
app.command("up")(up_command)


def main() -> None:
    app()
