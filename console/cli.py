"""`loopwright console` (and `python -m console`): serve the web console on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopwright.supervisor import Component, python_module

from .auth import load_or_create_token
from .settings import ConsoleSettings, RemoteBindRefused


def login_banner(port: int, var_dir: Path, host: str = "127.0.0.1") -> str:
    """The URL, and the login token the one time it is made (afterwards: where it is kept)."""
    settings = ConsoleSettings(host=host, port=port, var_dir=var_dir, allow_remote=True)
    token, created = load_or_create_token(settings.token_path)
    if created:
        return (
            f"  console: {settings.origin}/  login token (shown once): {token}\n"
            f"           (kept in {settings.token_path}, readable only by you)"
        )
    return f"  console: {settings.origin}/  (login token in {settings.token_path})"


def console_command(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8291,
    host: Annotated[
        str, typer.Option(help="Interface to bind; anything but loopback needs --allow-remote.")
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow binding beyond loopback (use TLS).")
    ] = False,
    engine: Annotated[
        str | None, typer.Option(help="Engine URL (default $LOOPWRIGHT_ENGINE_URL or :8288).")
    ] = None,
    sidecar: Annotated[
        str | None, typer.Option(help="Sidecar URL (default $LOOPWRIGHT_SIDECAR_URL or :8290).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="Agent URL (default $LOOPWRIGHT_AGENT_URL or :8289).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the login token is kept (default var/).")
    ] = None,
    quiet_banner: Annotated[
        bool, typer.Option("--no-banner", help="Do not print the URL and token (up prints them).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Serve the web console: chat, skills review, runs, events, incidents, review, inbox."""
    import uvicorn

    from .app import create_app

    try:
        settings = ConsoleSettings.from_env(
            host=host, port=port, allow_remote=allow_remote, engine_url=engine,
            sidecar_url=sidecar, agent_url=agent, var_dir=data_dir,
        )  # fmt: skip
        banner = login_banner(settings.port, settings.var_dir, settings.host)
    except (RemoteBindRefused, PermissionError) as err:
        typer.echo(f"loopwright console: {err}", err=True)
        raise typer.Exit(2) from None
    if not quiet_banner:
        typer.echo(f"Loopwright console\n{banner}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def console_component(
    port: int, data_dir: Path, engine_url: str, sidecar_port: int, agent_port: int
) -> Component:
    """The console as a child of `loopwright up` (up prints the banner, so the child does not)."""
    argv = python_module("console", "--port", str(port), "--data-dir", str(data_dir), "--no-banner")
    env = {
        "LOOPWRIGHT_ENGINE_URL": engine_url,
        "LOOPWRIGHT_SIDECAR_URL": f"http://127.0.0.1:{sidecar_port}",
        "LOOPWRIGHT_AGENT_URL": f"http://127.0.0.1:{agent_port}",
        "LOOPWRIGHT_CAPABILITIES_DB": str(data_dir / "capabilities.db"),
    }
    return Component("console", argv, health_url=f"http://127.0.0.1:{port}/healthz", env=env)


def main() -> None:
    typer.run(console_command)
