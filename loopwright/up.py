"""`loopwright up`: start the whole platform on embedded defaults, and keep it running.

Each component is its own process talking to the others over HTTP: the engine, then the
sidecar (which loads the core skills, then validates and serves the skills in
skills_generated/), then the agent. ``--demo`` also starts the SIMULATED demo fleet with a real
Prometheus scraping it (``loopwright demo run --prometheus``, its data under var/demo/), runs
the core skills' demo variants (health-check every minute) and points their capabilities at
the fleet. The sidecar's own ``/metrics`` is the metrics source ``platform`` (the heartbeat
reads ``loopwright_skills_active`` there).

The supervisor (``supervisor.py``) restarts a child that dies; logs go to var/logs/. Before
starting, `up` stops what an earlier `up` killed with ``kill -9`` left running (var/up.json),
and refuses, naming the process, when something else holds a port.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from agent.local_model import MODEL_ALIAS, LocalModelMissing, gguf_path, server_command
from console.cli import console_component, login_banner
from skills_core.demo.prometheus import PrometheusMissing, find_prometheus

from .engine_client import EngineTarget
from .pidfile import PidFile, stop_leftovers
from .store import STORE_URL_ENV, store_url
from .supervisor import Component, StartFailed, Supervisor, python_module

TOY_MODEL_PORT = 8287


def _toy_model() -> Component:
    try:
        command = server_command(gguf_path(), TOY_MODEL_PORT)
    except LocalModelMissing as exc:
        typer.echo(f"loopwright up --local-llm: {exc}", err=True)
        raise typer.Exit(2) from None
    return Component(
        "toy-llm",
        command,
        health_url=f"http://127.0.0.1:{TOY_MODEL_PORT}/v1/models",
        ports=(TOY_MODEL_PORT,),
        console=False,  # llama.cpp's output: var/logs/toy-llm.log
    )


def _demo_fleet(
    data_dir: Path, control_port: int, base_port: int, prometheus_port: int
) -> tuple[list[Component], dict[str, str]]:
    """The demo fleet component, and the capability environment that points the core skills
    at it: their metrics source ``prometheus`` (health-check, incident-triage) and deploy
    source ``log`` (incident-triage; ``events`` needs no setting)."""
    deploy_log = data_dir / "demo" / "deploys.jsonl"
    argv = [
        *python_module("loopwright", "demo", "run"),
        *("--control-port", str(control_port), "--base-port", str(base_port)),
        *("--deploy-log", str(deploy_log), "--wired"),
    ]
    ports = [control_port]
    env = {"LOOPWRIGHT_DEPLOY_LOG": str(deploy_log)}
    try:
        find_prometheus()
    except PrometheusMissing as exc:
        typer.echo(
            f"loopwright up --demo: {exc}.\n  Continuing without it: the health check and "
            "triage query Prometheus (PromQL ranges; a scrape-only source keeps no history), "
            "so their runs will fail with 'metrics source prometheus is not configured' until "
            "it is installed.",
            err=True,
        )
    else:
        argv += ["--prometheus", "--prometheus-port", str(prometheus_port)]
        argv += ["--prometheus-data", str(data_dir / "demo" / "prometheus")]
        env["LOOPWRIGHT_PROMETHEUS_URL"] = f"http://127.0.0.1:{prometheus_port}"
        ports.append(prometheus_port)
    health = f"http://127.0.0.1:{control_port}/status"
    return [Component("demo-fleet", argv, health_url=health, ports=tuple(ports))], env


def platform_metrics_sources(sidecar_port: int, environ: dict[str, str]) -> str:
    """``LOOPWRIGHT_METRICS_SOURCES`` with the source ``platform``: the sidecar's /metrics
    (added to the sources the environment already names, which win)."""
    sources: dict[str, object] = {
        "platform": {
            "kind": "scrape",
            "targets": {"sidecar": f"http://127.0.0.1:{sidecar_port}/metrics"},
        }
    }
    given = environ.get("LOOPWRIGHT_METRICS_SOURCES")
    if given:
        try:
            parsed = json.loads(given)
        except ValueError:
            parsed = None  # the sidecar reports the bad variable itself
        if isinstance(parsed, dict):
            sources.update(parsed)
        else:
            return given
    return json.dumps(sources)


def signed_engine_args() -> list[str]:
    """Signed mode comes from the environment every child inherits: the engine reads
    INNGEST_SIGNING_KEY itself; INNGEST_EVENT_KEY also makes it refuse other event keys."""
    target = EngineTarget.from_env()
    if target.signed and not target.event_key:
        typer.echo(
            "loopwright up: INNGEST_SIGNING_KEY is set but INNGEST_EVENT_KEY is not; in signed "
            "mode the apps need an event key to send events. Set INNGEST_EVENT_KEY "
            "(or engine.event_key in loopwright.toml).",
            err=True,
        )
        raise typer.Exit(2)
    return ["--event-key", target.event_key] if target.event_key else []


def platform_components(
    *,
    port: int,
    sidecar_port: int,
    agent_port: int,
    skills_dir: Path,
    data_dir: Path,
    demo: bool = False,
    demo_control_port: int = 9400,
    demo_base_port: int = 9401,
    prometheus_port: int = 9090,
    console_port: int = 8291,
) -> list[Component]:
    """The child processes of `loopwright up`, in start order (the agent last)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine_url = f"http://127.0.0.1:{port}"
    # One platform store (run ledger, ...) for every part; an explicit URL (PostgreSQL) wins.
    store = {STORE_URL_ENV: os.environ.get(STORE_URL_ENV) or store_url(data_dir / "platform.db")}
    sidecar_env = {
        "LOOPWRIGHT_CAPABILITIES_DB": str(data_dir / "capabilities.db"),
        "LOOPWRIGHT_METRICS_SOURCES": platform_metrics_sources(sidecar_port, dict(os.environ)),
        **store,
    }
    sidecar_env["LOOPWRIGHT_REVIEW"] = "on"  # the weekly review and its feedback routes
    fleet: list[Component] = []
    if demo:
        fleet, demo_env = _demo_fleet(data_dir, demo_control_port, demo_base_port, prometheus_port)
        sidecar_env.update(demo_env)
    components = [
        Component(
            "engine",
            python_module(
                "engine",
                "--port",
                str(port),
                "--db",
                str(data_dir / "engine.db"),
                *signed_engine_args(),
            ),
            health_url=f"{engine_url}/health",
            ports=(port,),
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
                *(["--demo"] if demo else []),
            ),
            health_url=f"http://127.0.0.1:{sidecar_port}/v1/skills",
            env=sidecar_env,
            ports=(sidecar_port,),
        ),
        Component(
            "agent",
            python_module("agent"),
            health_url=f"http://127.0.0.1:{agent_port}/v1/status",
            ports=(agent_port,),
            env={
                "LOOPWRIGHT_ENGINE_URL": engine_url,
                "LOOPWRIGHT_SIDECAR_URL": f"http://127.0.0.1:{sidecar_port}",
                "LOOPWRIGHT_AGENT_PORT": str(agent_port),
                "LOOPWRIGHT_AGENT_DB": str(data_dir / "agent.db"),
                "LOOPWRIGHT_SKILLS_DIR": str(skills_dir),
                **store,
            },
        ),
    ]
    components[1:1] = fleet  # after the engine, before the sidecar
    console = console_component(console_port, data_dir, engine_url, sidecar_port, agent_port)
    console.env.update(store)  # the console reads the run ledger from the same store
    components.append(console)
    return components


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
    demo: Annotated[
        bool,
        typer.Option(
            help="Also run the SIMULATED demo fleet and a Prometheus scraping it; the health "
            "check runs every minute. Then: `loopwright demo inject latency-spike checkout`."
        ),
    ] = False,
    demo_control_port: Annotated[int, typer.Option(help="Demo fleet control port.")] = 9400,
    demo_base_port: Annotated[
        int, typer.Option(help="First demo service port (0: any free).")
    ] = 9401,
    prometheus_port: Annotated[int, typer.Option(help="Demo Prometheus port.")] = 9090,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show HTTP request logs.")
    ] = False,
    console_port: Annotated[int, typer.Option(help="Web console port on 127.0.0.1.")] = 8291,
) -> None:
    """Start the platform on embedded defaults and keep it running (restarting what crashes)
    until Ctrl-C. Logs: var/logs/."""
    engine_url = f"http://127.0.0.1:{port}"
    pidfile = PidFile(data_dir)
    _clear_leftovers(pidfile)
    components = platform_components(
        port=port,
        sidecar_port=sidecar_port,
        agent_port=agent_port,
        skills_dir=skills_dir,
        data_dir=data_dir,
        demo=demo,
        demo_control_port=demo_control_port,
        demo_base_port=demo_base_port,
        prometheus_port=prometheus_port,
        console_port=console_port,
    )
    if local_llm:
        components.insert(0, _toy_model())
        next(c for c in components if c.name == "agent").env.update(
            LOOPWRIGHT_LLM_AGENT_BASE_URL=f"http://127.0.0.1:{TOY_MODEL_PORT}/v1",
            LOOPWRIGHT_LLM_AGENT_MODEL=MODEL_ALIAS,
        )
    supervisor = Supervisor(components, log_dir=data_dir / "logs", pidfile=pidfile, verbose=verbose)
    console_banner = login_banner(console_port, data_dir)  # before the console makes the token
    try:
        supervisor.start()
        typer.echo(
            f"Loopwright is up. Engine {engine_url}, sidecar http://127.0.0.1:{sidecar_port}"
        )
        typer.echo(console_banner)
        typer.echo(
            f"  skills: drop a file in {skills_dir}/ (see docs/SKILLS.md); `loopwright skills list`"
        )
        typer.echo(
            "  watch:  `loopwright runs --follow`, `loopwright inbox --follow`. Ctrl-C stops."
        )
        if demo:
            typer.echo(
                "  demo:   SIMULATED fleet (`loopwright demo status`); health-check every minute.\n"
                "          Try `loopwright demo inject error-burst-after-deploy checkout` now,\n"
                "          or `latency-spike checkout` after ~4 minutes (latency is judged\n"
                "          against a baseline Prometheus must first collect), then\n"
                "          `loopwright inbox --follow`: a detection, then a triage summary."
            )
        typer.echo(f"  logs:   {data_dir / 'logs'}/ (request logs: --verbose)")
        code = supervisor.wait()
    except StartFailed as exc:
        typer.echo(f"loopwright up: {exc}", err=True)
        code = 1
    except KeyboardInterrupt:
        typer.echo("loopwright up: interrupted while starting; stopping")
        code = 130
    finally:
        supervisor.stop()
    raise typer.Exit(code)


def _clear_leftovers(pidfile: PidFile) -> None:
    """Stop what an earlier `up` left running; refuse if that `up` is itself still running."""
    previous = pidfile.read()
    if previous is None:
        return
    if previous.supervisor.alive():
        typer.echo(
            f"loopwright up: Loopwright is already running (`loopwright up`, pid "
            f"{previous.supervisor.pid}, recorded in {pidfile.path}). Stop it first: Ctrl-C in "
            f"its terminal, or `kill {previous.supervisor.pid}`.",
            err=True,
        )
        raise typer.Exit(1)
    stopped = stop_leftovers(previous)
    if stopped:
        typer.echo(
            "An earlier `loopwright up` did not stop cleanly; stopped what it left running: "
            + ", ".join(stopped)
        )
    pidfile.remove()
