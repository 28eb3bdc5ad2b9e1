"""The SDK app process under chaos: start, SIGKILL, restart on the same port.

Each process is one *app life*. A restart starts the next life first (both bind the port with
SO_REUSEPORT), waits until it answers, then SIGKILLs the old one: calls the old life had open die
with it (their steps may have run; nothing of theirs was saved), and the engine finds the port
served throughout, so a kill costs a run at most the attempt that was in flight, as a crash of
one replica behind a load balancer would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import subprocess
import sys
import time

import httpx

from ._app import CALLS_FILE, JOURNAL_FILE, Call, Execution, read_calls, read_executions
from ._engine import REPO_ROOT, free_port

READY_TIMEOUT_S = 120.0


@dataclasses.dataclass
class AppLife:
    index: int
    spawned: float
    ready: float = 0.0
    killed: float | None = None


class SdkProcess:
    def __init__(self, workdir: pathlib.Path, engine_url: str) -> None:
        self.workdir, self.engine_url = workdir, engine_url
        self.port = free_port()
        self.serve_url = f"http://127.0.0.1:{self.port}/api/inngest"
        self.log_path = workdir / "app.log"
        self.lives: list[AppLife] = []
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AppLife:
        life = AppLife(index=len(self.lives), spawned=time.time())
        cmd = [
            sys.executable, "-m", "tests.chaos._app", "--port", str(self.port),
            "--engine", self.engine_url, "--dir", str(self.workdir), "--life", str(life.index),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        self._wait_ready(proc)
        life.ready = time.time()
        self.lives.append(life)
        old, self._proc = self._proc, proc
        if old is not None:
            self._kill(old, self.lives[-2])
        return life

    def restart(self) -> AppLife:
        """Kill -9 the running app once its successor listens on the same port."""
        return self.start()

    def _kill(self, proc: subprocess.Popen[bytes], life: AppLife) -> None:
        life.killed = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        url = f"http://127.0.0.1:{self.port}/chaos/pid"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the chaos app exited with {proc.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-4000:])  # fmt: skip
            # A fresh connection each time: the kernel spreads them over both lives, so this
            # one answering with its pid shows that it listens.
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).text == str(proc.pid):
                    return
            time.sleep(0.02)
        raise RuntimeError("the chaos app did not answer in time")

    def settle(self, rounds: int = 5) -> None:
        """Let the app's loop go round: requests the dead engine wrote get read meanwhile."""
        with httpx.Client(timeout=5.0) as http:
            for _ in range(rounds):
                http.get(self.serve_url)
                time.sleep(0.01)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def executions(self) -> list[Execution]:
        return read_executions(self.workdir / JOURNAL_FILE)

    def calls(self) -> list[Call]:
        return read_calls(self.workdir / CALLS_FILE)
