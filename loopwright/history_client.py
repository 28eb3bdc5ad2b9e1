"""A small client for the engine's history API (Inngest REST v1 plus Loopwright's extensions).

Used by the terminal views; works against any engine that serves those routes.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_ENGINE = "http://127.0.0.1:8288"


def engine_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("LOOPWRIGHT_ENGINE_URL") or DEFAULT_ENGINE).rstrip("/")


class HistoryError(Exception):
    """The engine could not be reached or refused the request; the message says which."""


class History:
    def __init__(self, base: str, signing_key: str | None = None) -> None:
        key = signing_key or os.environ.get("INNGEST_SIGNING_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.base = base
        self._http = httpx.Client(base_url=base, headers=headers, timeout=10)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            resp = self._http.get(path, params=clean)
        except httpx.HTTPError as exc:
            raise HistoryError(
                f"cannot reach the engine at {self.base} ({exc}); is `loopwright up` running?"
            ) from None
        if resp.status_code == 404:
            raise HistoryError(f"not found: {path}")
        if resp.status_code >= 400:
            raise HistoryError(f"the engine answered {resp.status_code}: {resp.text[:200]}")
        return resp.json()

    def runs(self, *, function: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._get(
            "/v1/runs", function=function, status=status, limit=limit
        )["data"]
        return rows

    def run(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self._get(f"/v1/runs/{run_id}")["data"]
        return run

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self._get(f"/v1/runs/{run_id}/steps")["data"]
        return steps

    def resolve_function(self, name: str) -> str:
        """A skill or function id → the engine's slug (`<app>-<id>`); unknown names pass through."""
        for app in self._get("/v1/apps")["data"]:
            for fn in self._get(f"/v1/apps/{app['name']}/functions"):
                if name in (fn["slug"], fn["slug"].removeprefix(f"{app['name']}-")):
                    return str(fn["slug"])
        return name
