"""A running sidecar bound to the real engine, and the helpers the scenarios share.

Skill ids are unique across the suite (the engine is shared, and an event triggers every
function listening for it, whatever its app); each test module gets its own sidecar, app id,
folder and registry.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from sidecar.capabilities import Inbox
from sidecar.files import write_atomically
from sidecar.service import Sidecar

T = TypeVar("T")
TERMINAL = frozenset({"Completed", "Failed", "Cancelled"})


def poll(probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        time.sleep(0.02)


def skill_source(
    skill_id: str,
    body: str = 'return {"ok": True}',
    *,
    event: str | None = None,
    example: dict[str, Any] | None = None,
    capabilities: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
    options: str = "",
    top: str = "",
) -> str:
    """A one-function skill triggered by ``event`` (default ``test/<skill id>``)."""
    event = event or f"test/{skill_id}"
    trigger: dict[str, Any] = {"event": event}
    if example is not None:
        trigger["example"] = example
    data = {
        "id": skill_id,
        "description": f"test skill {skill_id}",
        "author": "agent",
        "triggers": [trigger],
        "capabilities": capabilities or {},
        **(manifest or {}),
    }
    extra = f", {options}" if options else ""
    return (
        f"MANIFEST = {json.dumps(data)}\n\n{textwrap.dedent(top)}\n\n"
        f'@skill.function(fn_id="{skill_id}", trigger=skill.event("{event}"){extra})\n'
        f"def handler(ctx):\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
    )


class Harness:
    def __init__(self, sidecar: Sidecar, engine_url: str, inbox: Inbox) -> None:
        self.sidecar = sidecar
        self.registry = sidecar.registry
        self.inbox = inbox
        self.skills_dir = sidecar.settings.skills_dir
        self.api = httpx.Client(base_url=sidecar.settings.origin, timeout=90.0)
        self.engine = httpx.Client(base_url=engine_url, timeout=30.0)

    def close(self) -> None:
        self.api.close()
        self.engine.close()

    # --- files and the sidecar's API -----------------------------------------------------

    def path(self, skill_id: str) -> Path:
        return self.skills_dir / f"{skill_id.replace('-', '_')}.py"

    def write(self, skill_id: str, source: str) -> None:
        write_atomically(self.path(skill_id), source)

    def sdk_call(
        self,
        fn_id: str,
        run_id: str,
        steps: dict[str, Any],
        *,
        step: str = "step",
        disable_immediate_execution: bool = False,
    ) -> httpx.Response:
        """One call of ``fn_id`` made as the engine makes it (protocol 4.1), straight to the
        sidecar's SDK: ``steps`` are the memos by hashed id, ``step`` the targeted hashed id."""
        settings = self.sidecar.settings
        event = {"name": "test/direct", "data": {}, "id": f"event-{run_id}", "ts": 1, "user": {}}
        ctx = {"run_id": run_id, "attempt": 0, "max_attempts": 1, "stack": {},
               "disable_immediate_execution": disable_immediate_execution}  # fmt: skip
        body = {"event": event, "events": [event], "steps": steps, "ctx": ctx, "use_api": False,
                "version": 1}  # fmt: skip
        params = {"fnId": f"{settings.app_id}-{fn_id}", "stepId": step}
        return httpx.post(settings.serve_url, params=params, json=body, timeout=60)

    def submit(
        self, skill_id: str, source: str, author: str = "agent", reason: str = "test"
    ) -> dict[str, Any]:
        resp = self.api.post(
            f"/v1/skills/{skill_id}/versions",
            json={"source": source, "author": author, "reason": reason},
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def skill(self, skill_id: str) -> dict[str, Any] | None:
        resp = self.api.get(f"/v1/skills/{skill_id}")
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def wait_skill(
        self, skill_id: str, check: Callable[[dict[str, Any]], bool], what: str, timeout: float = 20
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            skill = self.skill(skill_id)
            return skill if skill is not None and check(skill) else None

        return poll(probe, timeout=timeout, what=f"{skill_id}: {what}")

    def wait_active(self, skill_id: str, version: int, timeout: float = 20) -> dict[str, Any]:
        return self.wait_skill(
            skill_id,
            lambda s: s["active_version"] == version and s["state"] == "active",
            f"version {version} active",
            timeout,
        )

    def version(self, skill_id: str, number: int) -> dict[str, Any]:
        resp = self.api.get(f"/v1/skills/{skill_id}/versions/{number}")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.api.post(path, json=body or {})

    # --- the engine ---------------------------------------------------------------------

    def send(self, name: str, data: dict[str, Any] | None = None) -> str:
        resp = self.engine.post("/e/test-key", json={"name": name, "data": data or {}})
        assert resp.status_code == 200, resp.text
        event_id: str = resp.json()["ids"][0]
        return event_id

    def runs(self, event_id: str) -> list[dict[str, Any]]:
        resp = self.engine.get(f"/v1/events/{event_id}/runs")
        assert resp.status_code == 200, resp.text
        runs: list[dict[str, Any]] = resp.json()["data"]
        return runs

    def run_of(self, event_id: str, timeout: float = 20) -> dict[str, Any]:
        runs = poll(lambda: self.runs(event_id), timeout=timeout, what=f"a run of {event_id}")
        assert len(runs) == 1, runs
        return runs[0]

    def run(self, run_id: str) -> dict[str, Any]:
        resp = self.engine.get(f"/v1/runs/{run_id}")
        assert resp.status_code == 200, resp.text
        run: dict[str, Any] = resp.json()["data"]
        return run

    def wait_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            run = self.run(run_id)
            return run if run["status"] in TERMINAL else None

        return poll(ended, timeout=timeout, what=f"run {run_id} to end")

    def trigger(self, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send an event and wait for its one run to end."""
        run = self.run_of(self.send(name, data))
        return self.wait_run(run["run_id"])

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        resp = self.engine.get(f"/v1/runs/{run_id}/steps")
        assert resp.status_code == 200, resp.text
        steps: list[dict[str, Any]] = resp.json()["data"]
        return steps

    def assert_no_run(self, event_id: str, wait: float = 1.0) -> None:
        time.sleep(wait)
        assert self.runs(event_id) == [], f"event {event_id} started runs"
