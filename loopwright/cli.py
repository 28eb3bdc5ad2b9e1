"""The `loopwright` command: one entry point for every part of the platform."""

from __future__ import annotations

import typer

from agent.cli import chat_command, eval_command
from console.cli import console_command
from engine.cli import engine_command
from sidecar.cli import sidecar_command, skills_app
from skills_core.demo.cli import demo_app

from .inbox_view import inbox_command
from .runs_view import runs_app
from .up import up_command

app = typer.Typer(
    name="loopwright",
    help="Loopwright: agents write durable Inngest skills; the platform validates and runs them.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("engine")(engine_command)
app.command("up")(up_command)
app.add_typer(runs_app, name="runs")
app.command("inbox")(inbox_command)
app.add_typer(demo_app, name="demo")
app.add_typer(skills_app, name="skills")
app.command("sidecar")(sidecar_command)
app.command("chat")(chat_command)
app.command("eval")(eval_command)
app.command("console")(console_command)


def main() -> None:
    app()
