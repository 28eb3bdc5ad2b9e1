"""The TypeScript SDK app (app/app.mjs) as a subprocess: `node` on a free loopback port.

`npm ci` runs once when app/node_modules is missing (the pinned SDK from package-lock.json);
.ci/run does the same beforehand. A failing install fails the tests with npm's output.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
from typing import Any

import httpx

from tests.conformance._engine import free_port, stop_process

APP_DIR = pathlib.Path(__file__).resolve().parent / "app"
READY_TIMEOUT_S = 60.0


def ensure_installed() -> None:
    if (APP_DIR / "node_modules" / "inngest" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the TypeScript SDK tests need Node and npm")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci in {APP_DIR} failed:\n{done.stdout}\n{done.stderr}")


class NodeApp:
    """One app process: APP_ID names its functions (`<app>-<fn>`) and events (`<app>/<x>`)."""

    def __init__(
        self,
        workdir: pathlib.Path,
        engine_url: str,
        app_id: str,
        checkpointing: bool,
        connect: bool = False,
    ) -> None:
        self.app_id, self.checkpointing, self.connect = app_id, checkpointing, connect
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.serve_url = f"{self.url}/api/inngest"
        self.log_path = workdir / f"{app_id}.log"
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")},
            "PORT": str(self.port),
            "ENGINE_URL": engine_url,
            "APP_ID": app_id,
            "CHECKPOINTING": "on" if checkpointing else "off",
            "TRANSPORT": "connect" if connect else "http",
            # Connect needs the global WebSocket, behind this flag on Node 20 (also in the SDK's
            # worker thread, which NODE_OPTIONS reaches and the command line does not).
            "NODE_OPTIONS": "--experimental-websocket",
        }
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed: the TypeScript SDK tests need Node")
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [node, "app.mjs"], cwd=APP_DIR, env=self._env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the node app exited early:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the node app was not ready after {READY_TIMEOUT_S}s")

    def stop(self) -> None:
        stop_process(self._proc)

    def journal(self, kind: str) -> list[Any]:
        notes = httpx.get(f"{self.url}/journal", timeout=10.0).json()
        return [n["value"] for n in notes if n["kind"] == kind]

    def sequence(self, kinds: set[str], values: set[Any]) -> list[tuple[str, Any]]:
        """The notes of `kinds` whose value is in `values`, in the order they were made."""
        notes = httpx.get(f"{self.url}/journal", timeout=10.0).json()
        return [
            (n["kind"], n["value"]) for n in notes if n["kind"] in kinds and n["value"] in values
        ]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-20_000:] if self.log_path.exists() else ""

    def slug(self, fn_id: str) -> str:
        return f"{self.app_id}-{fn_id}"

    def event(self, short: str) -> str:
        return f"{self.app_id}/{short}"
