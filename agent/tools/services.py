"""HTTP clients for the services the tools reach: the sidecar and the engine.

Both are thin: JSON in, plain dicts out, a ``ServiceUnavailable`` when nothing answers (so
tools can fall back) and a ``ToolFailed`` carrying the service's own error otherwise. They
reach the engine through its documented REST API only, never by importing it.
"""

from __future__ import annotations

from typing import Any

import httpx

from agent.errors import ServiceUnavailable, ToolFailed
from loopwright.http_errors import error_message

from .base import CALL_KEY


class _Service:
    name = "service"

    def __init__(self, base_url: str, *, token: str = "", timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise ServiceUnavailable(f"the {self.name} at {self.base_url} is not running") from err
        except httpx.HTTPError as err:
            raise ToolFailed(f"the {self.name} failed: {err}") from err
        try:
            body = resp.json()
        except ValueError:
            body = {"error": resp.text[:500]}
        if resp.status_code >= 400:
            message = error_message(body)
            raise ToolFailed(
                f"the {self.name} answered {resp.status_code} to {method} {path}: "
                f"{message or resp.text[:500]}"
            )
        return body

    def close(self) -> None:
        self.http.close()


def _data(body: Any) -> Any:
    """Unwrap a ``{"data": ...}`` envelope when the service uses one."""
    if isinstance(body, dict) and set(body) <= {"data", "metadata"} and "data" in body:
        return body["data"]
    return body


class SidecarClient(_Service):
    """The sidecar's loopback API: skills, versions, validation, test runs."""

    name = "sidecar"

    def list_skills(self) -> Any:
        return _data(self.request("GET", "/v1/skills"))

    def skill(self, skill_id: str) -> Any:
        return _data(self.request("GET", f"/v1/skills/{skill_id}"))

    def version(self, skill_id: str, version: int) -> Any:
        return _data(self.request("GET", f"/v1/skills/{skill_id}/versions/{version}"))

    def write(self, skill_id: str, source: str, reason: str) -> dict[str, Any]:
        body = {"source": source, "author": "agent", "reason": reason}
        key = CALL_KEY.get()
        headers = {"Idempotency-Key": key} if key else {}
        data: dict[str, Any] = _data(
            self.request("POST", f"/v1/skills/{skill_id}/versions", json=body, headers=headers)
        )
        return data

    def test(
        self, skill_id: str, fn_id: str, event: dict[str, Any] | None, mode: str
    ) -> dict[str, Any]:
        body = {"fn_id": fn_id, "event": event, "mode": mode}
        data: dict[str, Any] = _data(self.request("POST", f"/v1/skills/{skill_id}/test", json=body))
        return data


class EngineClient(_Service):
    """The engine's REST API (Inngest's v1 plus the documented extensions) and event intake."""

    name = "engine"

    def __init__(self, base_url: str, *, event_key: str = "", signing_key: str = "") -> None:
        super().__init__(base_url, token=signing_key)
        self.event_key = event_key or "NO_EVENT_KEY_SET"

    def send_event(self, name: str, data: dict[str, Any]) -> list[str]:
        event: dict[str, Any] = {"name": name, "data": data}
        key = CALL_KEY.get()
        if key:
            event["id"] = key  # the engine starts no second run for the same event id
        body = self.request("POST", f"/e/{self.event_key}", json=event)
        return [str(i) for i in (body.get("ids") or [])] if isinstance(body, dict) else []

    def runs(self, function: str, limit: int) -> list[dict[str, Any]]:
        body = self.request("GET", "/v1/runs", params={"function": function, "limit": limit})
        data = _data(body)
        return list(data) if isinstance(data, list) else []

    def run_steps(self, run_id: str) -> list[dict[str, Any]]:
        data = _data(self.request("GET", f"/v1/runs/{run_id}/steps"))
        return list(data) if isinstance(data, list) else []
