"""Real processes for the durable tests: the engine and the agent app, each killable.

Both are started by this test process, on free loopback ports, and stopped (or killed with
SIGKILL, by their own pid) only by it. Logs go to files in the test's directory.
"""

from __future__ import annotations

import abc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_S = 90.0  # generous: a loaded 2-core machine can take long to import


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc(abc.ABC):
    name = "process"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @abc.abstractmethod
    def command(self) -> list[str]: ...

    def env(self) -> dict[str, str]:
        return {
            k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "LOOPWRIGHT_"))
        }

    @abc.abstractmethod
    def ready(self) -> bool: ...

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=REPO_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            try:
                if self.ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {READY_S}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL, no cleanup: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self, limit: int = 20_000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-limit:]


class Engine(Proc):
    name = "engine"

    def command(self) -> list[str]:
        db = self.workdir / "engine.db"
        return [sys.executable, "-m", "engine", "--port", str(self.port), "--db", str(db),
                "--retry-backoff", "1s"]  # fmt: skip

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200


class AgentApp(Proc):
    name = "agent"

    def __init__(self, workdir: Path, extra_env: dict[str, str]) -> None:
        super().__init__(workdir)
        self.extra_env = extra_env

    def command(self) -> list[str]:
        return [sys.executable, "-m", "agent"]

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "LOOPWRIGHT_ALLOW_MODEL_REQUESTS": "0",
            "LOOPWRIGHT_AGENT_PORT": str(self.port),
            "LOOPWRIGHT_AGENT_DB": str(self.workdir / "agent.db"),
            **self.extra_env,
        }

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/v1/status", timeout=1.0).status_code == 200


def wait_synced(engine_url: str, app_id: str = "loopwright-agent", timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = httpx.get(f"{engine_url}/v1/apps/{app_id}/functions", timeout=2.0)
        body = resp.json() if resp.status_code == 200 else None
        if body and (body.get("data") if isinstance(body, dict) else body):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{app_id} never synced with {engine_url}")


def read_sse(url: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every event of a stream that ends by itself (``turn_id=`` given)."""
    import json

    events: list[dict[str, Any]] = []
    with httpx.stream("GET", url, timeout=timeout_s) as resp:
        resp.raise_for_status()
        kind, data = "", ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and kind:
                events.append({"kind": kind, **json.loads(data)})
                kind, data = "", ""
    return events
