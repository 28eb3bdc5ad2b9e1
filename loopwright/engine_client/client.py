"""One client for the engine, used by the sidecar, the agent and the CLI.

Everything the platform asks of an engine goes through here: sync an app (with auth, and the
``PUT`` fallback), send events, invoke a function, cancel a run, look up runs and events.
Against real Inngest (``EngineTarget.kind == "inngest"``) only the documented REST API is
used; a feature that needs one of the embedded engine's extensions raises ``NotOffered``
saying what to use instead. Synchronous on purpose (the CLI and the agent's tools are);
async callers run it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx

from loopwright.url_path import segment

from .errors import EngineError, EngineNotFound, EngineRefused, EngineUnreachable, NotOffered
from .target import EngineTarget

TERMINAL = frozenset({"Completed", "Failed", "Cancelled"})
#: The event key the SDK sends in dev mode; the embedded engine accepts any key unless
#: started with ``--event-key``.
DEV_EVENT_KEY = "NO_EVENT_KEY_SET"


@dataclasses.dataclass(frozen=True)
class SyncResult:
    ok: bool
    modified: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class EngineClient:
    def __init__(self, target: EngineTarget, *, timeout_s: float = 30.0) -> None:
        self.target = target
        headers = {"X-Inngest-Env": target.env} if target.env else {}
        # One client for the process: building one loads an SSL context (~80 ms).
        self._http = httpx.Client(timeout=timeout_s, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def embedded(self) -> bool:
        return self.target.kind == "embedded"

    # --- sync ---------------------------------------------------------------------------

    def sync(self, serve_url: str, *, put: bool = False) -> SyncResult:
        """Register the app at ``serve_url``. The embedded engine is asked to sync it
        (``POST /v1/apps/sync``); real Inngest, or ``put=True``, gets what the Dev Server
        and Cloud do: a ``PUT`` of the serve URL, after which the SDK registers itself."""
        if self.embedded and not put:
            try:
                resp = self._request("POST", "/v1/apps/sync", json={"url": serve_url})
            except EngineUnreachable as err:
                return SyncResult(ok=False, error=f"engine unreachable: {err}")
            if resp.status_code != 404:
                return _sync_answer(resp)
        try:
            resp = self._http.put(serve_url)
        except httpx.HTTPError as err:
            return SyncResult(ok=False, error=f"serve URL unreachable: {type(err).__name__}: {err}")
        # The SDK answers the PUT with the engine's register reply; it never raises on one.
        return _sync_answer(resp)

    # --- events and runs ----------------------------------------------------------------

    def send(self, name: str, data: dict[str, Any], *, event_id: str | None = None) -> list[str]:
        """Send one event; the ids of the stored events. ``event_id`` makes it idempotent."""
        key = self.target.event_key
        if key is None and not self.embedded:
            raise EngineError("sending events to Inngest needs an event key: set INNGEST_EVENT_KEY")
        event: dict[str, Any] = {"name": name, "data": data}
        if event_id:
            event["id"] = event_id
        url = f"{self.target.event_api_url}/e/{key or DEV_EVENT_KEY}"
        try:
            resp = self._http.post(url, json=event)
        except httpx.HTTPError as err:
            raise EngineUnreachable(self._unreachable(err, self.target.event_api_url)) from None
        if resp.status_code == 401:
            raise EngineRefused(
                "the engine refused the event key: set INNGEST_EVENT_KEY to one it accepts", 401
            )
        body = self._checked(resp, "POST /e/{key}")
        return [str(i) for i in (body.get("ids") or [])] if isinstance(body, dict) else []

    def invoke(self, slug: str, data: dict[str, Any]) -> str:
        """Start function ``slug`` (``<app>-<fn>``) with ``data``; the invocation event id."""
        if not self.embedded:
            raise NotOffered(
                "invoking a function by REST",
                "send the event that triggers it (`loopwright send EVENT --data JSON`)",
            )
        body = self._json("POST", f"/invoke/{segment(slug)}", json={"data": data})
        return str(body["id"])

    def cancel(self, run_id: str) -> None:
        self._json("DELETE", f"/v1/runs/{segment(run_id)}", what=f"run {run_id}")

    def run(self, run_id: str) -> dict[str, Any]:
        return _object(self._json("GET", f"/v1/runs/{segment(run_id)}", what=f"run {run_id}"))

    def event(self, event_id: str) -> dict[str, Any]:
        return _object(
            self._json("GET", f"/v1/events/{segment(event_id)}", what=f"event {event_id}")
        )

    def events(self, *, limit: int = 20, received_after: str | None = None) -> list[dict[str, Any]]:
        """Recent events, newest first (``GET /v1/events``: Inngest's documented REST API)."""
        params: dict[str, Any] = {"limit": limit}
        if received_after:
            params["received_after"] = received_after
        return _rows(self._json("GET", "/v1/events", params=params))

    def schedules(self) -> list[dict[str, Any]]:
        """Cron schedules and their next ticks (the embedded engine's; Inngest has none)."""
        self._embedded_only("cron schedules", "see each function's cron in Inngest's dashboard")
        return _rows(self._json("GET", "/v1/schedules"))

    def event_runs(self, event_id: str) -> list[dict[str, Any]]:
        return _rows(self._json("GET", f"/v1/events/{segment(event_id)}/runs"))

    def runs(
        self, *, function: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Recent runs, newest first (the embedded engine's list; Inngest has none)."""
        self._embedded_only("listing runs", "read the platform's run ledger instead")
        params = {"function": function, "status": status, "limit": limit}
        clean = {k: v for k, v in params.items() if v is not None}
        return _rows(self._json("GET", "/v1/runs", params=clean))

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        """One run's step timeline (the embedded engine's; Inngest shows it in its UI)."""
        self._embedded_only("a run's step timeline", "open the run in Inngest's dashboard")
        return _rows(self._json("GET", f"/v1/runs/{segment(run_id)}/steps", what=f"run {run_id}"))

    def resolve_function(self, name: str) -> str:
        """A skill or function id → the engine's slug (``<app>-<id>``); unknown names pass
        through unchanged."""
        self._embedded_only("listing apps", "pass the function's full slug")
        for app in _rows(self._json("GET", "/v1/apps")):
            for fn in self._json("GET", f"/v1/apps/{segment(app['name'])}/functions"):
                if name in (fn["slug"], fn["slug"].removeprefix(f"{app['name']}-")):
                    return str(fn["slug"])
        return name

    def wait_for_run(self, event_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The first run ``event_id`` started, once it ended; None if none ended in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = self.event_runs(event_id)
            if runs:
                run = self.run(str(runs[0]["run_id"]))
                if run["status"] in TERMINAL:
                    return run
            time.sleep(0.05)
        return None

    # --- transport ----------------------------------------------------------------------

    def _embedded_only(self, feature: str, instead: str) -> None:
        if not self.embedded:
            raise NotOffered(feature, instead)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.target.api_url}{path}"
        try:
            resp = self._http.request(method, url, headers=self.target.authorization(), **kwargs)
            if resp.status_code in (401, 403) and self.target.signing_key_fallback:
                auth = self.target.authorization(fallback=True)
                resp = self._http.request(method, url, headers=auth, **kwargs)
        except httpx.HTTPError as err:
            raise EngineUnreachable(self._unreachable(err, self.target.api_url)) from None
        return resp

    def _json(self, method: str, path: str, *, what: str | None = None, **kwargs: Any) -> Any:
        resp = self._request(method, path, **kwargs)
        if resp.status_code == 404 and what is not None:
            raise EngineNotFound(f"{what} not found at {self.target.api_url}", 404)
        return self._checked(resp, f"{method} {path}")

    def _checked(self, resp: httpx.Response, call: str) -> Any:
        if resp.status_code == 401:
            hint = "set INNGEST_SIGNING_KEY to the engine's signing key"
            if self.target.signed:
                hint = "INNGEST_SIGNING_KEY does not match the engine's signing key"
            raise EngineRefused(f"the engine refused {call} (401 unauthorized): {hint}", 401)
        if resp.status_code >= 400:
            raise EngineRefused(
                f"the engine answered {resp.status_code} to {call}: {_message(resp)}",
                resp.status_code,
            )
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise EngineError(
                f"the engine answered {call} with non-JSON: {resp.text[:200]}"
            ) from None

    def _unreachable(self, err: httpx.HTTPError, url: str) -> str:
        hint = " is `loopwright up` running?" if self.embedded else ""
        return f"cannot reach the engine at {url} ({type(err).__name__}: {err});{hint}"


def _message(resp: httpx.Response) -> str:
    """The engine's own message: ``{"error": "..."}`` or ``{"error": {"message": ...}}``."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or f"HTTP {resp.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error or body)[:300]


def _unwrap(body: Any, kind: type[Any]) -> Any:
    """Unwrap the REST API's ``{"data": ...}`` envelope, checking the shape."""
    data = body.get("data") if isinstance(body, dict) and "data" in body else body
    if not isinstance(data, kind):
        raise EngineError(f"unexpected answer from the engine: {str(body)[:200]}")
    return data


def _object(body: Any) -> dict[str, Any]:
    data: dict[str, Any] = _unwrap(body, dict)
    return data


def _rows(body: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _unwrap(body, list)
    return data


def _sync_answer(resp: httpx.Response) -> SyncResult:
    """Both sync routes answer a JSON object with ``ok``/``error``, maybe in a ``data``
    envelope; a 200 can still carry a refusal, so the body decides."""
    try:
        body = resp.json()
    except ValueError:
        body = {"error": f"HTTP {resp.status_code}: {resp.text[:200]}"}
    if not isinstance(body, dict):
        body = {"error": f"unexpected answer {body!r:.200}"}
    nested = body.get("data")
    data: dict[str, Any] = nested if isinstance(nested, dict) else body
    error = data.get("error") or body.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    if resp.status_code == 401:
        error = "the engine refused the sync (401): set INNGEST_SIGNING_KEY to its signing key"
    if resp.status_code >= 400 or error or data.get("ok") is False:
        return SyncResult(ok=False, error=str(error or f"HTTP {resp.status_code}"))
    return SyncResult(ok=True, modified=bool(data.get("modified", True)))
