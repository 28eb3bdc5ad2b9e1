"""Servers for the console's tests and benchmark: the console itself (uvicorn in a thread, a
free loopback port) and a recording HTTP double of a part's API (canned JSON answers; every
request kept, so a test can show a refused request had no effect)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from console import ConsoleSettings, create_app
from console.runs_source import RunSource


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


class ConsoleServer:
    def __init__(
        self,
        var_dir: Path,
        capabilities_db_path: Path | None = None,
        runs: RunSource | None = None,
        **urls: Any,
    ) -> None:
        self.settings = ConsoleSettings(
            port=free_port(), var_dir=var_dir,
            capabilities_db=capabilities_db_path or var_dir / "capabilities.db",
            live_poll_s=0.2, **urls,
        )  # fmt: skip
        self.app = create_app(self.settings, runs)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.settings.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = self.settings.origin

    @property
    def token(self) -> str:
        return self.settings.token_path.read_text().strip()

    def start(self) -> ConsoleServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the console did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def login(self, user: str = "Ann") -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        resp = client.post("/login", data={"token": self.token, "user": user, "next": "/"})
        assert resp.status_code == 303, resp.text
        return client


Route = Callable[[str, dict[str, Any] | None], tuple[int, Any]]


class RecordingApi:
    """Answers GET/POST with ``route(path, body)``; keeps (method, path, body) of each call."""

    def __init__(self, route: Route) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                outer.requests.append((method, self.path, body))
                status, data = route(self.path, body)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordingApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
