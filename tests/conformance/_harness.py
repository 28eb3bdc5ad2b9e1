"""Glue for scenario modules: an `App` (SDK client + served functions + journal + call log) bound
to the engine, polling helpers with deadlines, and `app_fixture`, which turns a module's
`build(app) -> [functions]` into a module-scoped fixture parametrized over sync and async handlers.

A scenario module looks like this::

    def build(app: App) -> list[inngest.Function]:
        if app.is_sync:
            @app.client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event=app.event("go")))
            def f(ctx: inngest.ContextSync) -> str: ...
        else:
            @app.client.create_function(fn_id="f", trigger=inngest.TriggerEvent(event=app.event("go")))
            async def f(ctx: inngest.Context) -> str: ...
        return [f]

    app = app_fixture(build)

    def test_something(app: App) -> None:
        run = app.trigger("go", {"x": 1})
        assert run["status"] == "Completed"

Event names are prefixed with the app id, so the sync and async apps of a module (and the apps of
different modules, which share one engine) never trigger each other's functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import inngest
import inngest.fast_api
import pytest

from ._engine import TERMINAL, EngineAPI
from ._sdk_app import Call, Journal, SdkServer

MODES = ("sync", "async")
DEFAULT_TIMEOUT = 15.0
POLL_INTERVAL = 0.03

T = TypeVar("T")
Build = Callable[["App"], list[inngest.Function[Any]]]


def poll(probe: Callable[[], T], *, timeout: float = DEFAULT_TIMEOUT, what: str = "condition") -> T:
    """Call `probe` every ~30 ms until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        time.sleep(POLL_INTERVAL)


def new_client(engine_url: str, app_id: str, **settings: Any) -> inngest.Inngest:
    """A dev-mode client of the engine; `settings` override (a production client's keys)."""
    return inngest.Inngest(
        **{
            "app_id": app_id,
            "is_production": False,
            "api_base_url": engine_url,
            "event_api_base_url": engine_url,
            "logger": logging.getLogger(f"conformance.{app_id}"),
            **settings,
        }
    )


@dataclasses.dataclass
class App:
    """One SDK app (one client, one mode) served to the engine."""

    mode: str
    client: inngest.Inngest
    engine: EngineAPI
    journal: Journal = dataclasses.field(default_factory=Journal)
    server: SdkServer = dataclasses.field(default_factory=SdkServer)
    serve_url: str = ""

    @property
    def is_sync(self) -> bool:
        return self.mode == "sync"

    @property
    def app_id(self) -> str:
        return self.client.app_id

    def slug(self, fn_id: str) -> str:
        return f"{self.app_id}-{fn_id}"

    def event(self, short: str) -> str:
        return f"{self.app_id}/{short}"

    def mount(self, functions: list[inngest.Function[Any]], path: str = "/api/inngest") -> str:
        inngest.fast_api.serve(self.server.fastapi, self.client, functions, serve_path=path)
        return f"{self.server.origin}{path}"

    # --- events ----------------------------------------------------------------------------
    def send(self, short: str, data: dict[str, Any] | None = None, **fields: Any) -> str:
        """Send one `<app_id>/<short>` event through the SDK; return its internal id."""
        ids = self.client.send_sync(
            inngest.Event(name=self.event(short), data=data or {}, **fields)
        )
        assert len(ids) == 1, ids
        return ids[0]

    def send_all(self, events: list[inngest.Event]) -> list[str]:
        ids = self.client.send_sync(events)
        assert len(ids) == len(events), ids
        return ids

    # --- runs ------------------------------------------------------------------------------
    def runs_of(
        self, event_id: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Wait until the event has at least `count` runs; return them."""
        return poll(
            lambda: (runs := self.engine.event_runs(event_id)) and len(runs) >= count and runs,
            timeout=timeout,
            what=f"{count} run(s) of event {event_id}",
        )

    def run_of(self, event_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        runs = self.runs_of(event_id, timeout=timeout)
        assert len(runs) == 1, f"expected exactly one run for event {event_id}, got {runs}"
        return runs[0]

    def wait_done(self, run_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Wait for a terminal status (Completed, Failed, Cancelled); return the run."""
        return self._wait_run(
            run_id, lambda run: run["status"] in TERMINAL, "a terminal status", timeout
        )

    def wait_status(
        self, run_id: str, status: str, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        return self._wait_run(run_id, lambda run: run["status"] == status, status, timeout)

    def _wait_run(
        self, run_id: str, done: Callable[[dict[str, Any]], bool], what: str, timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.engine.run(run_id)
            if done(run):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"run {run_id} did not reach {what} within {timeout}s\n"
                    + self.describe(run_id, run)
                )
            time.sleep(POLL_INTERVAL)

    def describe(self, run_id: str, run: dict[str, Any] | None = None) -> str:
        """The run, its steps and the SDK calls made for it, for failure messages."""
        run = run or self.engine.run(run_id)
        lines = [f"run: {_short(run)}", "steps:"]
        try:
            lines += [f"  {_short(step)}" for step in self.engine.steps(run_id)]
        except AssertionError as err:
            lines.append(f"  (unavailable: {err})")
        lines.append("calls (stepId, attempt, status, die, use_api, ms):")
        for c in self.calls(run_id=run_id):
            ms = "in flight" if c.ended is None else f"{(c.ended - c.started) * 1000:.0f}"
            lines.append(
                f"  {c.step_id[:12]} {c.attempt} {c.status} {c.disable_immediate_execution} {c.use_api} {ms}"
            )
        return "\n".join(lines)

    def trigger(
        self, short: str, data: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Send an event, wait for its single run to finish, return the finished run."""
        run = self.run_of(self.send(short, data), timeout=timeout)
        return self.wait_done(run["run_id"], timeout=timeout)

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        return self.engine.steps(run_id)

    def calls(self, *, run_id: str | None = None, fn_id: str | None = None) -> list[Call]:
        return self.server.call_log.calls(run_id=run_id, fn_id=fn_id)

    def wait_call(
        self, run_id: str, *, in_flight: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> Call:
        """Wait for a call of the run that is still executing (or has ended, with in_flight=False)."""
        return poll(
            lambda: next((c for c in self.calls(run_id=run_id) if c.in_flight == in_flight), None),
            timeout=timeout,
            what=f"a call of run {run_id} (in_flight={in_flight})",
        )

    # --- sync ------------------------------------------------------------------------------
    def sync(self, url: str | None = None) -> dict[str, Any]:
        return self.engine.sync(url or self.serve_url)

    def sync_ok(self, url: str | None = None) -> dict[str, Any]:
        data = self.sync(url)
        assert data["ok"] is True and data["error"] is None, f"sync failed: {data}"
        return data


@contextlib.contextmanager
def serve_app(
    engine: EngineAPI, app_id: str, mode: str, build: Build, *, sync: bool = True
) -> Iterator[App]:
    """Build the module's functions for `mode`, serve them, sync them, and yield the app."""
    app = App(mode=mode, client=new_client(engine.url, app_id), engine=engine)
    app.serve_url = app.mount(build(app))
    with app.server.running():
        if sync:
            app.sync_ok()
        yield app


def app_fixture(build: Build) -> Any:
    """A module-scoped `app` fixture, parametrized over sync and async handlers."""

    @pytest.fixture(scope="module", params=MODES)
    def app(request: pytest.FixtureRequest, engine_api: EngineAPI) -> Iterator[App]:
        scenario = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
        app_id = f"{scenario.replace('_', '-')}-{request.param}"
        with serve_app(engine_api, app_id, request.param, build) as served:
            yield served

    return app


def step_names(steps: list[dict[str, Any]], kind: str | None = None) -> list[str]:
    return [s["name"] for s in steps if kind is None or s["kind"] == kind]


def _short(obj: Any, limit: int = 400) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
