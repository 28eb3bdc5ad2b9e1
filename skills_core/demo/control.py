"""The demo fleet's control endpoint, and the client the CLI drives it with.

A running fleet (``loopwright demo run``) listens on a loopback port:

* ``GET  /status`` — services, URLs, versions, active incidents;
* ``POST /inject`` — ``{"incident": "latency-spike", "service": "checkout", "duration_s": 600}``;
* ``POST /clear``  — ``{"service": "checkout"}`` or ``{}`` for all.

Answers are JSON; a bad request is 400 with ``{"error": ...}`` naming what is wrong.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

from .incidents import IncidentKind

if TYPE_CHECKING:
    from .fleet import Fleet

DEFAULT_CONTROL_URL = "http://127.0.0.1:9400"
CONTROL_URL_ENV = "LOOPWRIGHT_DEMO_CONTROL_URL"


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fleet: Fleet, host: str, port: int) -> None:
        self.fleet = fleet
        super().__init__((host, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fleet's console shows what matters."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/status", ""):
            self._answer(200, self.server.fleet.status())
        else:
            self._answer(404, {"error": f"no such endpoint {self.path}; try /status"})

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/inject":
                self._answer(200, self._inject(body))
            elif self.path == "/clear":
                cleared = self.server.fleet.clear(body.get("service"))
                self._answer(200, {"cleared": cleared})
            else:
                self._answer(404, {"error": f"no such endpoint {self.path}"})
        except (KeyError, ValueError, TypeError) as err:
            self._answer(400, {"error": str(err)})

    def _inject(self, body: dict[str, Any]) -> dict[str, Any]:
        kinds = [k.value for k in IncidentKind]
        if body.get("incident") not in kinds:
            raise ValueError(f"incident must be one of {kinds}")
        options = {
            k: float(body[k])
            for k in ("duration_s", "ramp_s", "onset_s")
            if body.get(k) is not None
        }
        incident = self.server.fleet.inject(body["incident"], str(body.get("service")), **options)
        return {"injected": incident.to_dict()}

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FleetUnreachable(RuntimeError):
    pass


class FleetRefused(RuntimeError):
    pass


def call(control_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to a running fleet; errors name what to do next."""
    try:
        response = httpx.request(method, control_url.rstrip("/") + path, json=body, timeout=5)
    except httpx.TransportError:
        raise FleetUnreachable(
            f"no demo fleet answers at {control_url}; start one with `loopwright demo run` "
            f"(or point {CONTROL_URL_ENV} / --control at it)"
        ) from None
    answer = response.json()
    if response.status_code != 200:
        raise FleetRefused(answer.get("error", f"HTTP {response.status_code}"))
    return answer
