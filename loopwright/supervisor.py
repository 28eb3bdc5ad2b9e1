"""Run the platform's components as child processes, each with its own log prefix.

Each component is a separate process talking to the others over HTTP, exactly as it
would when deployed apart. The supervisor starts them in order, waits for each one's
health URL, and stops them all (SIGTERM, then SIGKILL) when one dies or on Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

import typer


@dataclasses.dataclass(frozen=True)
class Component:
    name: str
    argv: Sequence[str]
    health_url: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)


class Supervisor:
    def __init__(self, components: Sequence[Component], ready_timeout_s: float = 60.0) -> None:
        self.components = components
        self.ready_timeout_s = ready_timeout_s
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for comp in self.components:
            env = {**os.environ, **comp.env}
            proc = subprocess.Popen(
                list(comp.argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            self.procs[comp.name] = proc
            threading.Thread(target=_pump, args=(comp.name, proc), daemon=True).start()
            if comp.health_url:
                self._wait_healthy(comp, proc)

    def _wait_healthy(self, comp: Component, proc: subprocess.Popen[bytes]) -> None:
        assert comp.health_url is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{comp.name} exited with code {proc.returncode} while starting")
            try:
                with urllib.request.urlopen(comp.health_url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"{comp.name} did not answer {comp.health_url} within {self.ready_timeout_s:.0f} s"
        )

    def wait(self) -> int:
        """Block until a component exits or Ctrl-C; returns the exit code to use."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.is_set():
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        typer.echo(
                            f"[{name}] exited with code {proc.returncode}; stopping the platform"
                        )
                        return proc.returncode or 1
                stop.wait(0.5)
        except KeyboardInterrupt:
            pass
        return 0

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def _pump(name: str, proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
