"""`loopwright up`: start the whole platform on embedded defaults.

Each component is its own process talking to the others over HTTP: the engine, then the
sidecar (which validates and serves the skills in skills_generated/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.local_model import MODEL_ALIAS, LocalModelMissing, gguf_path, server_command

from .supervisor import Component, Supervisor, python_module

TOY_MODEL_PORT = 8287


def _toy_model() -> Component:
    try:
        command = server_command(gguf_path(), TOY_MODEL_PORT)
    except LocalModelMissing as exc:
        typer.echo(f"loopwright up --local-llm: {exc}", err=True)
        raise typer.Exit(2) from None
    return Component("toy-llm", command, health_url=f"http://127.0.0.1:{TOY_MODEL_PORT}/v1/models")


def up_command(
    port: Annotated[int, typer.Option(help="Engine port on 127.0.0.1.")] = 8288,
    sidecar_port: Annotated[int, typer.Option(help="Sidecar API/app port on 127.0.0.1.")] = 8290,
    agent_port: Annotated[int, typer.Option(help="Agent API/app port on 127.0.0.1.")] = 8289,
    local_llm: Annotated[
        bool,
        typer.Option(
            help="Also serve a TOY local model (SmolLM2-135M via llama.cpp, port 8287) and point "
            "the agent at it: real wiring, offline, far too small to write skills."
        ),
    ] = False,
    skills_dir: Annotated[Path, typer.Option(help="Folder of generated skills.")] = Path(
        "skills_generated"
    ),
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
        Component(
            "sidecar",
            python_module(
                "sidecar",
                "--engine",
                engine_url,
                "--port",
                str(sidecar_port),
                "--skills-dir",
                str(skills_dir),
                "--db",
                str(data_dir / "sidecar.db"),
            ),
            health_url=f"http://127.0.0.1:{sidecar_port}/v1/skills",
            env={"LOOPWRIGHT_CAPABILITIES_DB": str(data_dir / "capabilities.db")},
        ),
        Component(
            "agent",
            python_module("agent"),
            health_url=f"http://127.0.0.1:{agent_port}/v1/status",
            env={
                "LOOPWRIGHT_ENGINE_URL": engine_url,
                "LOOPWRIGHT_SIDECAR_URL": f"http://127.0.0.1:{sidecar_port}",
                "LOOPWRIGHT_AGENT_PORT": str(agent_port),
                "LOOPWRIGHT_AGENT_DB": str(data_dir / "agent.db"),
                "LOOPWRIGHT_SKILLS_DIR": str(skills_dir),
            },
        ),
    ]
    if local_llm:
        components.insert(0, _toy_model())
        components[-1].env.update(
            LOOPWRIGHT_AGENT_BASE_URL=f"http://127.0.0.1:{TOY_MODEL_PORT}/v1",
            LOOPWRIGHT_AGENT_MODEL=MODEL_ALIAS,
        )
    supervisor = Supervisor(components)
    try:
        supervisor.start()
        typer.echo(
            f"Loopwright is up. Engine {engine_url}, sidecar http://127.0.0.1:{sidecar_port}"
        )
        typer.echo(
            f"  skills: drop a file in {skills_dir}/ (see docs/SKILLS.md); `loopwright skills list`"
        )
        typer.echo(
            "  watch:  `loopwright runs --follow`, `loopwright inbox --follow`. Ctrl-C stops."
        )
        code = supervisor.wait()
    except RuntimeError as exc:
        typer.echo(f"loopwright up: {exc}", err=True)
        code = 1
    finally:
        supervisor.stop()
    raise typer.Exit(code)
