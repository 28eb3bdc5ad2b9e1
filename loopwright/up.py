"""`loopwright up`: start the whole platform on embedded defaults.

For now the platform is the engine; the sidecar, the core skills and the agent join
here as they land, each as its own process talking to the engine over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli import engine_command


def up_command(
    port: Annotated[int, typer.Option(help="Engine port on 127.0.0.1.")] = 8288,
    data_dir: Annotated[
        Path, typer.Option(help="Where the platform keeps its SQLite files.")
    ] = Path("var"),
) -> None:
    """Start the platform (engine on embedded defaults) and keep it running until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Loopwright engine on http://127.0.0.1:{port}  (state in {data_dir}/engine.db)")
    typer.echo(f"Point an Inngest SDK app at it with INNGEST_DEV=http://127.0.0.1:{port}")
    engine_command(port=port, db=data_dir / "engine.db")
