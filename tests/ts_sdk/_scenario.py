"""What a TypeScript SDK test sees: the node app, the engine's API and polling helpers."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.conformance._engine import TERMINAL, EngineAPI, EngineProcess
from tests.conformance._harness import poll

from ._node_app import NodeApp

TIMEOUT = 30.0


@dataclasses.dataclass
class TsApp:
    node: NodeApp
    api: EngineAPI
    engine: EngineProcess

    def send(self, short: str, data: dict[str, Any]) -> str:
        resp = self.api.post_events({"name": self.node.event(short), "data": data})
        assert resp.status_code == 200, resp.text
        ids: list[str] = resp.json()["ids"]
        return ids[0]

    def runs(self, fn_id: str) -> list[dict[str, Any]]:
        return self.api.runs(self.node.slug(fn_id))

    def run_of(self, event_id: str) -> dict[str, Any]:
        runs = poll(lambda: self.api.event_runs(event_id), timeout=TIMEOUT, what="a run")
        run: dict[str, Any] = runs[0]
        return run

    def wait_done(self, run_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            run = self.api.run(run_id)
            return run if run["status"] in TERMINAL else None

        try:
            done: dict[str, Any] = poll(probe, timeout=timeout, what=f"run {run_id} to end")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.describe(run_id)}") from None
        return done

    def trigger(self, short: str, data: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
        return self.wait_done(self.run_of(self.send(short, data))["run_id"], timeout)

    def describe(self, run_id: str) -> str:
        return (
            f"run: {self.api.run(run_id)}\nsteps: {self.api.steps(run_id)}\n"
            f"--- node log ---\n{self.node.log_text()[-4000:]}\n"
            f"--- engine log ---\n{self.engine.log_text()[-6000:]}"
        )
