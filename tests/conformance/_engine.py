"""The engine under test: a real `python -m engine` subprocess and a thin REST client for it.

The process is started once per session on a free loopback port with a fresh SQLite file and a
flat 1 s retry backoff. Its combined stdout/stderr goes to a log file; the conformance conftest
attaches the part written during a failing test to that test's report.
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
from typing import Any

import httpx

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
TERMINAL = frozenset({"Completed", "Failed", "Cancelled"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EngineProcess:
    """`python -m engine --port PORT --db PATH --retry-backoff 1s`, ready once /health says OK."""

    def __init__(self, workdir: pathlib.Path, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "engine.db"
        self.log_path = workdir / "engine.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "engine",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            "--retry-backoff",
            "1s",
            *self.extra_args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
        env.update(NO_COLOR="1", _TYPER_STANDARD_TRACEBACK="1")  # plain text in the log
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last: object = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"engine exited with code {self._proc.returncode} before becoming ready:\n"
                    + self.log_text()
                )
            try:
                resp = httpx.get(f"{self.url}/health", timeout=1.0)
                last = (resp.status_code, resp.text)
                if resp.status_code == 200 and resp.json() == {"status": 200, "message": "OK"}:
                    return
            except httpx.HTTPError as err:
                last = err
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"engine not ready after {READY_TIMEOUT_S}s (last /health: {last!r}):\n"
            + self.log_text()
        )

    def stop(self) -> None:
        stop_process(self._proc)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_text(self, since: int = 0, limit: int = 20_000) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(since)
            data = f.read()
        text = data.decode("utf-8", errors="replace")
        return text if len(text) <= limit else "...\n" + text[-limit:]


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s; nothing when it is not running."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_engine(
    workdir: pathlib.Path, extra_args: tuple[str, ...] = ()
) -> Iterator[EngineProcess]:
    proc = EngineProcess(workdir, extra_args)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


class EngineAPI:
    """The engine's REST surface as the contract describes it; JSON in, plain dicts out."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0, headers=headers)

    def close(self) -> None:
        self.http.close()

    def _data(self, resp: httpx.Response) -> Any:
        assert resp.status_code == 200, (
            f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:2000]}"
        )
        return resp.json()["data"]

    # --- apps -----------------------------------------------------------------------------
    def sync(self, serve_url: str) -> dict[str, Any]:
        """POST /v1/apps/sync; returns `data` ({"ok", "modified", "error", ...})."""
        resp = self.http.post("/v1/apps/sync", json={"url": serve_url})
        data: dict[str, Any] = self._data(resp)
        return data

    def register(self, body: object) -> httpx.Response:
        return self.http.post("/fn/register", json=body)

    # --- events ---------------------------------------------------------------------------
    def post_events(
        self, body: object, *, key: str = "NO_EVENT_KEY_SET", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.http.post(f"/e/{key}", json=body, headers=headers or {})

    def events(self, **params: Any) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._data(self.http.get("/v1/events", params=params))
        return data

    def event(self, internal_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._data(self.http.get(f"/v1/events/{internal_id}"))
        return data

    def event_runs(self, internal_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._data(self.http.get(f"/v1/events/{internal_id}/runs"))
        return data

    def completed_run(self, internal_id: str, timeout_s: float = 30) -> dict[str, Any]:
        """The first run the event started, once Completed (an AssertionError after
        ``timeout_s``: polled, since the run happens in another process)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = self.event_runs(internal_id)
            if runs and runs[0]["status"] == "Completed":
                return runs[0]
            time.sleep(0.05)
        raise AssertionError(f"the run of event {internal_id} did not complete")

    # --- runs -----------------------------------------------------------------------------
    def run(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._data(self.http.get(f"/v1/runs/{run_id}"))
        return data

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._data(self.http.get(f"/v1/runs/{run_id}/steps"))
        return data

    def runs_page(self, **params: Any) -> dict[str, Any]:
        resp = self.http.get("/v1/runs", params=params)
        assert resp.status_code == 200, f"GET /v1/runs {params}: {resp.status_code} {resp.text}"
        body: dict[str, Any] = resp.json()
        return body

    def runs(self, function: str, status: str | None = None) -> list[dict[str, Any]]:
        """Every run of a function (all pages)."""
        params: dict[str, Any] = {"function": function, "limit": 50}
        if status is not None:
            params["status"] = status
        out: list[dict[str, Any]] = []
        while True:
            page = self.runs_page(**params)
            out.extend(page["data"])
            cursor = (page.get("metadata") or {}).get("next_cursor")
            if not cursor or not page["data"]:
                return out
            params["cursor"] = cursor

    def cancel(self, run_id: str) -> httpx.Response:
        return self.http.delete(f"/v1/runs/{run_id}")

    # --- schedules (extension) ------------------------------------------------------------
    def schedules(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._data(self.http.get("/v1/schedules"))
        return data
