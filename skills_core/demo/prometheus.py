"""Run a real Prometheus server (Debian's ``prometheus`` package) scraping the demo fleet.

Used by ``loopwright demo run --prometheus`` so the health check can use PromQL (rates,
quantiles) against the simulator, and by the test suite, which checks the metrics capability
against the real server rather than a fake. The config is generated (JSON is valid YAML),
storage lives in a throwaway directory, and the server listens on loopback only.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpx

APT_COMMAND = "apt-get update && apt-get install -y prometheus"
DEBIAN_BINARY = "/usr/bin/prometheus"


class PrometheusMissing(RuntimeError):
    pass


def find_prometheus() -> str:
    found = shutil.which("prometheus") or (DEBIAN_BINARY if Path(DEBIAN_BINARY).exists() else None)
    if found is None:
        raise PrometheusMissing(
            f"the prometheus binary is not installed; install Debian's package with: {APT_COMMAND}"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """``start()`` launches and waits until ready; ``url`` is the HTTP API base."""

    def __init__(
        self,
        targets: dict[str, str],
        *,
        storage_dir: Path,
        port: int = 0,
        scrape_interval_s: float = 1.0,
        binary: str | None = None,
    ) -> None:
        self._targets = targets
        self._dir = storage_dir
        self._port = port or free_port()
        self._interval = scrape_interval_s
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self._port}"

    def config(self) -> dict[str, object]:
        interval = f"{int(self._interval * 1000)}ms"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [
                {
                    "job_name": "demo-fleet",
                    "metrics_path": "/metrics",
                    "static_configs": [
                        {"targets": sorted(urlsplit(url).netloc for url in self._targets.values())}
                    ],
                }
            ],
        }

    def start(self, timeout_s: float = 30.0) -> Self:
        binary = self._binary or find_prometheus()
        self._dir.mkdir(parents=True, exist_ok=True)
        config = self._dir / "prometheus.yml"
        config.write_text(json.dumps(self.config(), indent=2))
        log = (self._dir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self._port}",
                "--storage.tsdb.retention.time=1d",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready after {timeout_s}s:\n{self.log_tail()}")

    def wait_for_scrapes(self, samples: int = 3, timeout_s: float = 20.0) -> None:
        """Block until every target has been scraped successfully ``samples`` times."""
        query = f"count_over_time(up[1h]) >= {samples} and up == 1"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = httpx.get(f"{self.url}/api/v1/query", params={"query": query}).json()
            if len(answer["data"]["result"]) == len(self._targets):
                return
            time.sleep(0.2)
        raise RuntimeError(f"targets not scraped {samples} times in {timeout_s}s")

    def log_tail(self, lines: int = 20) -> str:
        path = self._dir / "prometheus.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
