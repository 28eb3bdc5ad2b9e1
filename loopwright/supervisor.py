"""Run the platform's components as child processes, and keep them running.

Each component is a separate process talking to the others over HTTP, exactly as it would
when deployed apart. The supervisor starts them in order (each one's port must be free, and
each must answer its health URL before the next starts), then watches them: a child that
exits is restarted with exponential backoff (1 s, 2 s, 4 s … at most 30 s; back to 1 s once
it has run for a minute), with a line saying so. Ctrl-C or SIGTERM stops them all (SIGTERM,
then SIGKILL), each with its own children: every component runs in its own process group.

Output: every line of every child goes to ``<log_dir>/<name>.log``; the console shows the
same lines prefixed with ``[name]``, minus HTTP request logs (``verbose`` shows them), and
nothing of components marked ``console=False`` (llama.cpp is chatty).

``var/up.json`` (``PidFile``) records the children, so a later `up` can stop what a
``kill -9``-ed supervisor left behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from .pidfile import PidFile, UpState, record
from .ports import holder

#: Access-log lines of uvicorn, aiohttp and httpx: hidden unless ``verbose``.
REQUEST_LOG = re.compile(
    r'"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) \S+ HTTP/[\d.]+" \d{3}|HTTP Request: [A-Z]+ '
)
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
#: A child that ran this long before exiting restarts after BACKOFF_START_S again.
STABLE_AFTER_S = 60.0


@dataclasses.dataclass(frozen=True)
class Component:
    name: str
    argv: Sequence[str]
    health_url: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Must be free before the component starts (else: who holds them, and no start).
    ports: tuple[int, ...] = ()
    #: False: output goes only to the log file.
    console: bool = True


class StartFailed(RuntimeError):
    """A component could not start; the message says which, why and what to do."""


@dataclasses.dataclass
class _Child:
    component: Component
    proc: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    backoff_s: float = BACKOFF_START_S
    restart_at: float | None = None
    awaiting_health: bool = False
    tail: deque[str] = dataclasses.field(default_factory=lambda: deque(maxlen=15))


class Supervisor:
    def __init__(
        self,
        components: Sequence[Component],
        ready_timeout_s: float = 60.0,
        *,
        log_dir: Path | None = None,
        pidfile: PidFile | None = None,
        verbose: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.components = components
        self.ready_timeout_s = ready_timeout_s
        self.log_dir = log_dir
        self.pidfile = pidfile
        self.verbose = verbose
        self.echo = echo or _print
        self.children: dict[str, _Child] = {}

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: child.proc for name, child in self.children.items()}

    # --- start ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start every component in order; raise ``StartFailed`` (nothing left running)."""
        for comp in self.components:
            for port in comp.ports:
                if port and (held := holder(port)) is not None:
                    raise StartFailed(
                        f"cannot start {comp.name}: {held.describe()}. Stop it, or start on "
                        "other ports (`loopwright up --help` lists the port options)"
                    )
        for comp in self.components:
            child = self._spawn(comp)
            self.children[comp.name] = child
            self._record()
            if comp.health_url:
                self._wait_healthy(child)

    def _spawn(self, comp: Component, restarts: int = 0) -> _Child:
        env = {**os.environ, **comp.env}
        proc = subprocess.Popen(
            list(comp.argv),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
        child = _Child(comp, proc, time.monotonic(), restarts=restarts)
        log = self._log_file(comp.name)
        threading.Thread(target=self._pump, args=(child, log), daemon=True).start()
        return child

    def _log_file(self, name: str) -> IO[bytes] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return (self.log_dir / f"{name}.log").open("ab")

    def _wait_healthy(self, child: _Child) -> None:
        comp = child.component
        assert comp.health_url is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise StartFailed(
                    f"{comp.name} exited with code {child.proc.returncode} while starting"
                    + self._tail_text(child)
                )
            if _healthy(comp.health_url):
                return
            time.sleep(0.1)
        raise StartFailed(
            f"{comp.name} did not answer {comp.health_url} within {self.ready_timeout_s:.0f} s"
            + self._tail_text(child)
        )

    def _tail_text(self, child: _Child) -> str:
        time.sleep(0.2)  # let the pump read the last lines
        lines = list(child.tail)
        where = (
            f"; full log: {self.log_dir / (child.component.name + '.log')}" if self.log_dir else ""
        )
        if not lines:
            return where
        return f"{where}\n  last lines:\n" + "\n".join(f"    {line}" for line in lines)

    # --- watch ----------------------------------------------------------------------------

    def wait(self) -> int:
        """Keep the children running until Ctrl-C or SIGTERM; returns the exit code."""
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.is_set():
                self.heal()
                stop.wait(0.2)
        except KeyboardInterrupt:
            pass
        return 0

    def heal(self) -> None:
        """One look at every child: schedule restarts, restart those due, report recoveries."""
        now = time.monotonic()
        for name, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                if child.awaiting_health and _healthy(child.component.health_url):
                    child.awaiting_health = False
                    self.echo(f"[{name}] healthy again")
                continue
            if child.restart_at is None:
                # What it started (Prometheus under the fleet) would hold its ports.
                _signal_group(child.proc.pid, signal.SIGKILL)
                if now - child.started_at >= STABLE_AFTER_S:
                    child.backoff_s = BACKOFF_START_S
                child.restart_at = now + child.backoff_s
                self.echo(
                    f"[{name}] exited with code {code}; restarting in {child.backoff_s:.0f} s "
                    f"(restart {child.restarts + 1})"
                )
            elif now >= child.restart_at:
                fresh = self._spawn(child.component, restarts=child.restarts + 1)
                fresh.backoff_s = min(child.backoff_s * 2, BACKOFF_MAX_S)
                fresh.awaiting_health = child.component.health_url is not None
                self.children[name] = fresh
                self._record()
                self.echo(f"[{name}] restarted (pid {fresh.proc.pid})")

    # --- stop -----------------------------------------------------------------------------

    def stop(self) -> None:
        children = list(self.children.values())
        for child in reversed(children):
            if child.proc.poll() is None:
                _signal_group(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc.wait(timeout=5)
            # Grandchildren (Prometheus under the demo fleet) that outlived their parent.
            _signal_group(child.proc.pid, signal.SIGKILL)
        if self.pidfile is not None:
            self.pidfile.remove()

    # --- helpers --------------------------------------------------------------------------

    def _record(self) -> None:
        if self.pidfile is None:
            return
        state = UpState(
            supervisor=record(os.getpid()),
            children={name: record(c.proc.pid) for name, c in self.children.items()},
        )
        self.pidfile.write(state)

    def _pump(self, child: _Child, log: IO[bytes] | None) -> None:
        proc, comp = child.proc, child.component
        assert proc.stdout is not None
        try:
            for raw in iter(proc.stdout.readline, b""):
                if log is not None:
                    log.write(raw)
                    log.flush()
                line = raw.decode(errors="replace").rstrip("\n")
                child.tail.append(line)
                if not comp.console or (not self.verbose and REQUEST_LOG.search(line)):
                    continue
                self.echo(f"[{comp.name}] {line}")
        finally:
            if log is not None:
                log.close()


def _healthy(url: str | None) -> bool:
    if url is None:
        return True
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
