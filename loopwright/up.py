"""`loopwright up`: start the whole platform on embedded defaults.

Components join here as they land, each as its own process talking to the engine over
HTTP: for now the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .supervisor import Component, Supervisor, python_module


def up_command(
    port: Annotated[int, typer.Option(help="Engine port on 127.0.0.1.")] = 8288,
    data_dir: Annotated[
        Path, typer.Option(help="Where the platform keeps its SQLite files.")
    ] = Path("var"),
) -> None:
    """Start the platform on embedded defaults and keep it running until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine_url = f"http://127.0.0.1:{port}"
    components = [
        Component(
            "engine",
            python_module("engine", "--port", str(port), "--db", str(data_dir / "engine.db")),
            health_url=f"{engine_url}/health",
        ),
    ]
    supervisor = Supervisor(components)
    try:
        supervisor.start()
        typer.echo(f"Loopwright is up. Engine: {engine_url} (state in {data_dir}/)")
        typer.echo(f"Point an Inngest SDK app at it with INNGEST_DEV={engine_url}. Ctrl-C stops.")
        code = supervisor.wait()
    except RuntimeError as exc:
        typer.echo(f"loopwright up: {exc}", err=True)
        code = 1
    finally:
        supervisor.stop()
    raise typer.Exit(code)
