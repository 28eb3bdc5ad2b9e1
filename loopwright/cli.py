"""The `loopwright` command: one entry point for every part of the platform."""

from __future__ import annotations

import sys

import typer

from agent.cli import chat_command, eval_command
from console.cli import console_command
from engine.cli import engine_command
from review.cli import feedback_command, review_app
from sidecar.cli import sidecar_command, skills_app
from skills_core.demo.cli import demo_app

from .config.cli import config_app
from .config.environ import apply_to_process
from .doctor import doctor_command
from .inbox_view import inbox_command
from .incidents_view import incidents_app
from .run_control import send_command  # also registers `runs cancel` and `runs rerun`
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
app.add_typer(incidents_app, name="incidents")
app.command("send")(send_command)
app.add_typer(demo_app, name="demo")
app.add_typer(skills_app, name="skills")
app.command("sidecar")(sidecar_command)
app.command("chat")(chat_command)
app.command("eval")(eval_command)
app.add_typer(config_app, name="config")
app.command("doctor")(doctor_command)
app.command("feedback")(feedback_command)
app.add_typer(review_app, name="review")
app.command("console")(console_command)


def main() -> None:
    apply_to_process(lenient=sys.argv[1:2] in (["config"], ["doctor"]))
    app()
