"""The engine under chaos: one `python -m engine` process at a time on a fixed port and DB file.

`ChaosEngine` starts the engine, kills it with SIGKILL, and restarts it on the same port and the
same SQLite file. Each process is one *life*; the log of lives (spawn, ready, kill times) is what
the checks use to tell which engine process an SDK call or a step execution belongs to.

While the engine is dead, `snapshot()` copies the database and its WAL to a scratch file and opens
the copy, so the test can read what had been committed at the moment of the kill without touching
the real files (the next life must recover the hot WAL itself, exactly as after a real crash).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0  # start-up on a loaded 2-core machine can take 30 s+


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Life:
    """One engine process: spawned at `spawned`, answering /health from `ready`, killed at `killed`."""

    index: int
    spawned: float
    ready: float = 0.0
    killed: float | None = None
    boot: str = ""  # the process's boot id (GET /v1/stats), sent on each of its calls


class ChaosEngine:
    def __init__(
        self, workdir: pathlib.Path, *, retry_backoff: str = "1s", durability: str = "normal"
    ) -> None:
        self.workdir = workdir
        self.durability = durability
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "engine.db"
        self.log_path = workdir / "engine.log"
        self.retry_backoff = retry_backoff
        self.lives: list[Life] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._snapshots = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Life:
        cmd = [
            sys.executable, "-m", "engine", "--port", str(self.port), "--db", str(self.db_path),
            "--retry-backoff", self.retry_backoff, "--log-level", "warning",
            "--durability", self.durability,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
        env.update(NO_COLOR="1", _TYPER_STANDARD_TRACEBACK="1")
        life = Life(index=len(self.lives), spawned=time.time())
        with self.log_path.open("ab") as log:
            log.write(f"\n=== chaos: life {life.index} spawned at {life.spawned:.3f}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.lives.append(life)
        self._wait_ready()
        life.ready = time.time()
        life.boot = httpx.get(f"{self.url}/v1/stats", timeout=10).json()["data"]["boot_id"]
        return life

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(timeout=1.0) as http:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"engine exited with {self._proc.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    if http.get(f"{self.url}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"engine not ready after {READY_TIMEOUT_S}s:\n{self.log_tail()}")

    def kill(self) -> float:
        """SIGKILL the running engine and reap it; returns the time the signal was sent."""
        assert self._proc is not None and self._proc.poll() is None, "no engine to kill"
        at = time.time()
        os.kill(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=10)
        self.lives[-1].killed = at
        return at

    def stop(self) -> None:
        """Graceful stop at the end of the test (SIGTERM, then SIGKILL if it hangs)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def snapshot(self) -> sqlite3.Connection:
        """A read-only view of what the dead engine had committed (a copy of the DB and its WAL)."""
        assert not self.alive, "snapshot only while the engine is dead"
        self._snapshots += 1
        target = self.workdir / f"snapshot-{self._snapshots}.db"
        shutil.copyfile(self.db_path, target)
        wal = self.db_path.with_name(self.db_path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))
        return sqlite3.connect(target)

    def discard_snapshot(self, conn: sqlite3.Connection) -> None:
        conn.close()
        target = self.workdir / f"snapshot-{self._snapshots}.db"
        for path in (target, target.with_name(target.name + "-wal")):
            path.unlink(missing_ok=True)
        target.with_name(target.name + "-shm").unlink(missing_ok=True)

    def log_tail(self, limit: int = 8000) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text[-limit:]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
