"""The demo fleet: a few SIMULATED services serving ``/metrics`` on loopback ports.

Nothing here is a real service. It exists so ``loopwright up`` shows a health check detecting
something and a triage summary on a fresh machine. Each service is a ``ServiceSimulator``
behind its own ``ThreadingHTTPServer``; one ticker thread advances them all; an optional
control server (``control.py``) lets ``loopwright demo inject`` drive a running fleet; an
optional schedule plays an incident every night.

    with Fleet(deploy_log=Path("var/demo/deploys.jsonl")) as fleet:
        fleet.inject(IncidentKind.LATENCY_SPIKE, "checkout")
        fleet.targets  # {"checkout": "http://127.0.0.1:PORT/metrics", ...}
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from prometheus_client.exposition import MetricsHandler

from skills_core.capabilities.deploys import Deploy

from .control import ControlServer
from .deploy_log import DeployLog, next_version
from .incidents import Incident, IncidentKind
from .persistence import deployed_versions, load_incidents, save_incidents, state_path
from .profiles import DEFAULT_PROFILES, ServiceProfile
from .schedule import ScheduledIncident
from .simulator import ServiceSimulator

TICK_S = 0.25
#: How often the HTTP servers check for shutdown (stop() waits up to this long per server).
POLL_S = 0.05


class UnknownService(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class Fleet:
    """SIMULATED services; ``start()`` / ``stop()`` or use as a context manager."""

    def __init__(
        self,
        *,
        deploy_log: Path,
        profiles: tuple[ServiceProfile, ...] = DEFAULT_PROFILES,
        host: str = "127.0.0.1",
        base_port: int = 0,
        control_port: int | None = 0,
        seed: int | None = None,
        schedule: tuple[ScheduledIncident, ...] = (),
    ) -> None:
        rng = random.Random(seed)
        self.services = {p.name: ServiceSimulator(p, random.Random(rng.random())) for p in profiles}
        self.deploy_log = DeployLog(deploy_log)
        self._host = host
        self._base_port = base_port
        self._control_port = control_port
        self._schedule = schedule
        self._servers: dict[str, ThreadingHTTPServer] = {}
        self._control: ControlServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        self.deploy_log.seed(
            tuple(s.profile for s in self.services.values()), datetime.datetime.now(datetime.UTC)
        )
        self._restore()
        for i, (name, sim) in enumerate(self.services.items()):
            port = self._base_port + i if self._base_port else 0
            server = ThreadingHTTPServer((self._host, port), MetricsHandler.factory(sim.registry))
            server.daemon_threads = True
            self._servers[name] = server
            self._spawn(lambda s=server: s.serve_forever(POLL_S), f"demo-{name}")
        if self._control_port is not None:
            control = self._control = ControlServer(self, self._host, self._control_port)
            self._spawn(lambda: control.serve_forever(POLL_S), "demo-control")
        self._spawn(self._tick, "demo-ticker")
        for scheduled in self._schedule:
            self._spawn(lambda s=scheduled: self._play_daily(s), "demo-schedule")
        return self

    def stop(self) -> None:
        self._stop.set()
        servers: list[Any] = [*self._servers.values(), self._control]
        for server in filter(None, servers):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.time()
            for sim in self.services.values():
                sim.advance(now)

    def _play_daily(self, scheduled: ScheduledIncident) -> None:
        while True:
            wait = scheduled.seconds_until_next(datetime.datetime.now())
            if self._stop.wait(wait):
                return
            self.inject(scheduled.kind, scheduled.service, duration_s=scheduled.duration_s)

    # --- where things are ------------------------------------------------------------------

    @property
    def targets(self) -> dict[str, str]:
        """Service name → its ``/metrics`` URL (a scrape source's ``targets``)."""
        return {
            name: f"http://{self._host}:{server.server_address[1]}/metrics"
            for name, server in self._servers.items()
        }

    @property
    def control_url(self) -> str | None:
        if self._control is None:
            return None
        return f"http://{self._host}:{self._control.server_address[1]}"

    # --- incidents -------------------------------------------------------------------------

    def inject(
        self,
        kind: IncidentKind | str,
        service: str,
        *,
        duration_s: float | None = None,
        ramp_s: float | None = None,
        onset_s: float | None = None,
    ) -> Incident:
        sim = self._service(service)
        kind = IncidentKind(kind)
        now = time.time()
        if kind is IncidentKind.ERROR_BURST_AFTER_DEPLOY:
            version = next_version(sim.version)
            self.deploy_log.append(
                Deploy(
                    service=service,
                    version=version,
                    at=datetime.datetime.fromtimestamp(now, datetime.UTC),
                    author="demo-bot",
                    description=f"release {version} of {service} (simulated bad deploy)",
                )
            )
            sim.deploy(version)
        incident = Incident.create(
            kind, service, now, duration_s=duration_s, ramp_s=ramp_s, onset_s=onset_s
        )
        sim.add_incident(incident)
        self._save()
        return incident

    def clear(self, service: str | None = None) -> int:
        sims = [self._service(service)] if service else list(self.services.values())
        cleared = sum(sim.clear_incidents() for sim in sims)
        self._save()
        return cleared

    def _restore(self) -> None:
        """Take back the deploy log's versions and the incidents still running (see
        ``persistence.py``): a restart neither forgets an incident nor contradicts the log."""
        for name, version in deployed_versions(self.deploy_log.path).items():
            sim = self.services.get(name)
            if sim is not None and sim.version != version:
                sim.deploy(version)
        for incident in load_incidents(state_path(self.deploy_log.path), time.time()):
            if incident.service in self.services:
                self.services[incident.service].add_incident(incident)

    def _save(self) -> None:
        incidents = [i for sim in self.services.values() for i in sim.status()["incidents"]]
        save_incidents(state_path(self.deploy_log.path), incidents)

    def status(self) -> dict[str, Any]:
        targets = self.targets
        return {
            "simulated": True,
            "note": "SIMULATED demo fleet: these are not real services",
            "control_url": self.control_url,
            "deploy_log": str(self.deploy_log.path),
            "services": [
                {**sim.status(), "metrics_url": targets.get(name)}
                for name, sim in self.services.items()
            ],
        }

    def _service(self, name: str) -> ServiceSimulator:
        try:
            return self.services[name]
        except KeyError:
            raise UnknownService(
                f"no service {name!r} in the demo fleet; it has {sorted(self.services)}"
            ) from None
