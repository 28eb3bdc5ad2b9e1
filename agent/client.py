"""A small client for the agent's HTTP API: what the CLI (and scripts) use.

``events`` yields the turn's Server-Sent Events as dicts (``kind`` plus the event's data),
and ends when the turn finishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from agent.errors import AgentError
from loopwright.http_errors import error_message
from loopwright.url_path import segment


class AgentUnavailable(AgentError):
    code = "agent-unavailable"


class AgentClient:
    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise AgentUnavailable(
                f"the agent is not running at {self.url} ({type(err).__name__}); start the "
                "platform with `loopwright up` (or the agent alone with `python -m agent`)"
            ) from None
        body = resp.json()
        if resp.status_code >= 400:
            raise AgentError(error_message(body, resp.text))
        return body

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", "/v1/status")
        return data

    def conversations(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/conversations")["conversations"])

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("GET", f"/v1/conversations/{segment(conversation_id)}")
        return data

    def create(self, title: str = "") -> str:
        return str(self._call("POST", "/v1/conversations", json={"title": title})["id"])

    def post(self, conversation_id: str, text: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call(
            "POST",
            f"/v1/conversations/{segment(conversation_id)}/messages",
            json={"text": text},
        )
        return data

    def events(
        self, conversation_id: str, turn_id: str, after: int = 0
    ) -> Iterator[dict[str, Any]]:
        url = f"/v1/conversations/{segment(conversation_id)}/events"
        params: dict[str, Any] = {"turn_id": turn_id, "after": after}
        with self.http.stream("GET", url, params=params, timeout=None) as resp:
            kind, data = "", ""
            for line in resp.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and kind:
                    yield {"kind": kind, **json.loads(data)}
                    kind, data = "", ""

    def close(self) -> None:
        self.http.close()
