"""HTTP clients for the services the tools reach: the sidecar and the engine.

Both are thin: JSON in, plain dicts out, a ``ServiceUnavailable`` when nothing answers (so
tools can fall back) and a ``ToolFailed`` carrying the service's own error otherwise. The
engine is reached through the platform's one engine client (``loopwright.engine_client``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from agent.errors import ServiceUnavailable, ToolFailed
from loopwright.engine_client import EngineClient as SharedEngineClient
from loopwright.engine_client import EngineError, EngineTarget, EngineUnreachable
from loopwright.http_errors import error_message
from loopwright.url_path import segment

from .base import CALL_KEY

T = TypeVar("T")


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
        return _data(self.request("GET", f"/v1/skills/{segment(skill_id)}"))

    def version(self, skill_id: str, version: int) -> Any:
        return _data(self.request("GET", f"/v1/skills/{segment(skill_id)}/versions/{version}"))

    def write(self, skill_id: str, source: str, reason: str) -> dict[str, Any]:
        body = {"source": source, "author": "agent", "reason": reason}
        key = CALL_KEY.get()
        headers = {"Idempotency-Key": key} if key else {}
        data: dict[str, Any] = _data(
            self.request(
                "POST", f"/v1/skills/{segment(skill_id)}/versions", json=body, headers=headers
            )
        )
        return data

    def test(
        self, skill_id: str, fn_id: str, event: dict[str, Any] | None, mode: str
    ) -> dict[str, Any]:
        body = {"fn_id": fn_id, "event": event, "mode": mode}
        data: dict[str, Any] = _data(
            self.request("POST", f"/v1/skills/{segment(skill_id)}/test", json=body)
        )
        return data


class EngineClient:
    """The agent's view of the platform's engine client: the same calls, with the tools'
    errors (``ServiceUnavailable`` when nothing answers, ``ToolFailed`` otherwise)."""

    name = "engine"

    def __init__(self, base_url: str, *, event_key: str = "", signing_key: str = "") -> None:
        target = EngineTarget.from_env(url=base_url, signing_key=signing_key or None)
        if event_key:
            target = dataclasses.replace(target, event_key=event_key)
        self.client = SharedEngineClient(target)
        self.base_url = base_url

    def send_event(self, name: str, data: dict[str, Any]) -> list[str]:
        key = CALL_KEY.get()  # the engine starts no second run for the same event id
        return self._call(lambda: self.client.send(name, data, event_id=key or None))

    def runs(self, function: str, limit: int) -> list[dict[str, Any]]:
        return self._call(lambda: self.client.runs(function=function, limit=limit))

    def run_steps(self, run_id: str) -> list[dict[str, Any]]:
        return self._call(lambda: self.client.steps(run_id))

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except EngineUnreachable as err:
            raise ServiceUnavailable(str(err)) from err
        except EngineError as err:
            raise ToolFailed(f"the engine: {err}") from err

    def close(self) -> None:
        self.client.close()
