"""The real engine for the sidecar runtime tests: a `python -m engine` subprocess.

A minimal copy of tests/conformance/_engine.py (that suite is edited independently): a free
loopback port, a fresh SQLite file, a flat 1 s retry backoff, ready once /health answers.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_engine(workdir: pathlib.Path) -> Iterator[str]:
    """Start the engine; yield its URL; stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "engine", "--port", str(port), "--db",
           str(workdir / "engine.db"), "--retry-backoff", "1s"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
    log = (workdir / "engine.log").open("ab")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"engine exited with {proc.returncode}; see {workdir}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("engine not ready after 30 s")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
