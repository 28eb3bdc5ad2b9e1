"""``loopwright demo run | inject | status | clear``: the SIMULATED demo fleet from a terminal.

``run`` starts the fleet in the foreground and prints where everything is and which
environment variables point the capabilities at it; the other commands talk to a running
fleet through its control endpoint. Wire it with ``app.add_typer(demo_app, name="demo")``.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import control
from .fleet import Fleet
from .incidents import IncidentKind
from .prometheus import PrometheusMissing, PrometheusServer
from .schedule import overnight_spike

DEFAULT_PROMETHEUS_DATA = Path("var/demo/prometheus")

demo_app = typer.Typer(
    name="demo",
    help="The demo fleet: SIMULATED services with Prometheus metrics, a deploy log and "
    "injectable incidents, so the loops have something to watch on a fresh machine.",
    no_args_is_help=True,
)
# soft_wrap: messages keep their line (and stay greppable) at any terminal width.
console = Console(soft_wrap=True)

ControlOption = Annotated[
    str,
    typer.Option(
        "--control",
        envvar=control.CONTROL_URL_ENV,
        help="Control URL of a running fleet.",
    ),
]


@demo_app.command("run")
def run_command(
    control_port: Annotated[int, typer.Option(help="Port of the control endpoint.")] = 9400,
    base_port: Annotated[int, typer.Option(help="First service port (0: any free).")] = 9401,
    deploy_log: Annotated[Path, typer.Option(help="JSONL deploy log.")] = Path(
        "var/demo/deploys.jsonl"
    ),
    overnight: Annotated[
        str, typer.Option(help="Local HH:MM of the nightly latency spike, or 'off'.")
    ] = "02:00",
    overnight_service: Annotated[
        str, typer.Option(help="Service of the nightly spike.")
    ] = "checkout",
    prometheus: Annotated[
        bool, typer.Option(help="Also run a real Prometheus scraping the fleet.")
    ] = False,
    prometheus_port: Annotated[int, typer.Option(help="Prometheus port.")] = 9090,
    prometheus_data: Annotated[
        Path,
        typer.Option(
            help="Prometheus's storage: the latency baseline survives restarts "
            "(`loopwright demo clear --history` removes it)."
        ),
    ] = DEFAULT_PROMETHEUS_DATA,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable fleet.")] = None,
    seconds: Annotated[
        float | None, typer.Option(hidden=True, help="Stop after this long (tests).")
    ] = None,
    wired: Annotated[
        bool,
        typer.Option(
            hidden=True, help="Started by `loopwright up`, which wires the platform to it."
        ),
    ] = False,
) -> None:
    """Run the SIMULATED fleet until Ctrl-C."""
    schedule = () if overnight == "off" else (overnight_spike(overnight, overnight_service),)
    fleet = Fleet(
        deploy_log=deploy_log,
        base_port=base_port,
        control_port=control_port,
        seed=seed,
        schedule=schedule,
    )
    with ExitStack() as stack:
        stack.enter_context(fleet)
        prometheus_url = None
        if prometheus:
            try:
                server = PrometheusServer(
                    fleet.targets, storage_dir=prometheus_data, port=prometheus_port
                )
                prometheus_url = stack.enter_context(server).url
            except (PrometheusMissing, RuntimeError) as err:
                console.print(f"[yellow]{err}[/]; continuing without Prometheus")
        _print_banner(fleet, prometheus_url, schedule, wired=wired)
        # SIGTERM (`loopwright up` stopping its children) ends the run like Ctrl-C, so the
        # ExitStack stops Prometheus instead of leaving it orphaned.
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
            stack.callback(signal.signal, signal.SIGTERM, previous)
        with suppress(KeyboardInterrupt):
            stop.wait(seconds)
    console.print("demo fleet stopped")


def _print_banner(
    fleet: Fleet, prometheus_url: str | None, schedule: tuple[Any, ...], *, wired: bool
) -> None:
    console.print("[bold yellow]SIMULATED demo fleet[/] — these are not real services.")
    table = Table("service", "version", "metrics")
    for item in fleet.status()["services"]:
        table.add_row(item["name"], item["version"], item["metrics_url"])
    console.print(table)
    sources: dict[str, Any] = {"demo": {"kind": "scrape", "targets": fleet.targets}}
    console.print(f"control:    {fleet.control_url}")
    console.print(f"deploy log: {fleet.deploy_log.path}")
    for item in schedule:
        console.print(f"scheduled:  {item.kind} on {item.service} daily at {item.at:%H:%M}")
    if wired:  # `up` set these itself and says what to try: exports would only mislead
        return
    console.print("\nPoint the capabilities at it:")
    console.print(f"  export LOOPWRIGHT_METRICS_SOURCES='{json.dumps(sources)}'", soft_wrap=True)
    console.print(f"  export LOOPWRIGHT_DEPLOY_LOG={fleet.deploy_log.path}")
    if prometheus_url:
        console.print(f"  export LOOPWRIGHT_PROMETHEUS_URL={prometheus_url}")
    console.print("\nTry: loopwright demo inject latency-spike checkout   (Ctrl-C stops the fleet)")


@demo_app.command("inject")
def inject_command(
    incident: Annotated[IncidentKind, typer.Argument(help="What goes wrong.")],
    service: Annotated[str, typer.Argument(help="Which service, e.g. checkout.")],
    duration: Annotated[float | None, typer.Option(help="Seconds until it ends.")] = None,
    ramp: Annotated[float | None, typer.Option(help="Seconds to reach full strength.")] = None,
    onset: Annotated[float | None, typer.Option(help="Seconds before it starts.")] = None,
    control_url: ControlOption = control.DEFAULT_CONTROL_URL,
) -> None:
    """Inject an incident into a running fleet."""
    body = {
        "incident": incident.value,
        "service": service,
        "duration_s": duration,
        "ramp_s": ramp,
        "onset_s": onset,
    }
    answer = _call(control_url, "POST", "/inject", body)
    injected = answer["injected"]
    console.print(
        f"injected [bold]{injected['kind']}[/] into {injected['service']} "
        f"for {injected['duration_s']:.0f}s (SIMULATED)"
    )


@demo_app.command("status")
def status_command(
    control_url: ControlOption = control.DEFAULT_CONTROL_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the services of a running fleet and their active incidents."""
    answer = _call(control_url, "GET", "/status")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    table = Table("service", "version", "rps", "errors", "p50", "memory", "incidents")
    for item in answer["services"]:
        incidents = ", ".join(i["kind"] for i in item["incidents"]) or "-"
        memory = f"{item['memory_bytes'] / item['memory_limit_bytes']:.0%}"
        table.add_row(
            item["name"],
            item["version"],
            f"{item['rps']:.0f}",
            f"{item['error_rate']:.1%}",
            f"{item['latency_p50_s'] * 1000:.0f} ms",
            memory,
            incidents,
        )
    console.print("[bold yellow]SIMULATED demo fleet[/]")
    console.print(table)


@demo_app.command("clear")
def clear_command(
    service: Annotated[str | None, typer.Argument(help="Service (default: all).")] = None,
    control_url: ControlOption = control.DEFAULT_CONTROL_URL,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Instead: delete the stopped demo's stored metrics (Prometheus data), so the "
            "next run learns its baseline afresh.",
        ),
    ] = False,
    prometheus_data: Annotated[
        Path, typer.Option(help="Prometheus's storage (as given to `demo run`).")
    ] = DEFAULT_PROMETHEUS_DATA,
) -> None:
    """End active incidents (or, with --history, delete the stopped demo's stored metrics)."""
    if history:
        _clear_history(control_url, prometheus_data)
        return
    answer = _call(control_url, "POST", "/clear", {"service": service} if service else {})
    console.print(f"cleared {answer['cleared']} incident(s)")


def _clear_history(control_url: str, prometheus_data: Path) -> None:
    with suppress(control.FleetUnreachable, control.FleetRefused):
        control.call(control_url, "GET", "/status")
        console.print(
            f"[red]the demo fleet is running ({control_url}): stop it (or `loopwright up`) "
            "first, then clear its history[/]"
        )
        raise typer.Exit(1)
    if not (prometheus_data / "prometheus.yml").exists():
        console.print(f"no demo metrics stored in {prometheus_data}")
        return
    shutil.rmtree(prometheus_data)
    console.print(f"deleted the demo's stored metrics ({prometheus_data})")


def _call(control_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        return control.call(control_url, method, path, body)
    except (control.FleetUnreachable, control.FleetRefused) as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(1) from None
