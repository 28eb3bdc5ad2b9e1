"""The agent's process: its turns as Inngest functions of the platform's own SDK app,
served by FastAPI next to the HTTP API (``agent.api``).

``agent-turn`` is triggered by ``loopwright/agent.turn.requested`` (one event per user
message, with the turn id as the event id, so a re-sent message starts no second run). It
runs with ``concurrency=[{key: event.data.conversation_id, limit: 1}]`` and the FIFO gate of
``agent.turn``; when it fails for good, ``on_failure`` closes the turn so the queue moves.

Run it with ``python -m agent`` (uvicorn); at start it asks the engine to sync it
(``POST /v1/apps/sync``, or the SDK's own ``PUT`` against real Inngest).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import fastapi
import inngest
import inngest.fast_api

from agent.api import build_router, error_handlers
from agent.config import AgentSettings
from agent.durable import StepFailed
from agent.runtime import Runtime
from agent.turn import TURN_FINISHED, TURN_REQUESTED, Turn
from loopwright.engine_client import EngineClient, EngineTarget
from loopwright.http_errors import BodyLimit
from loopwright.ledger.middleware import LedgerRecorder
from loopwright.replay_quiet_log import ReplayQuietLog
from loopwright.serve_guard import MAX_CALL_BYTES, SERVE_PATH, ServeGuard

log = logging.getLogger("agent")
MAX_API_BODY_BYTES = 256 * 1024
T = TypeVar("T")
FUNCTION_ID = "agent-turn"


class InngestSteps:
    """``agent.durable.Steps`` on the SDK's ``ctx.step``."""

    def __init__(self, step: inngest.StepSync) -> None:
        self.step = step

    def run(self, step_id: str, fn: Callable[[], T]) -> T:
        try:
            return self.step.run(step_id, fn)
        except inngest.StepError as err:
            raise StepFailed(step_id, err.message) from err

    def wait(
        self, step_id: str, event: str, if_exp: str, timeout_s: float
    ) -> dict[str, Any] | None:
        found = self.step.wait_for_event(
            step_id, event=event, if_exp=if_exp, timeout=dt.timedelta(seconds=timeout_s)
        )
        return None if found is None else dict(found.data)

    def send(self, step_id: str, name: str, data: dict[str, Any]) -> None:
        self.step.send_event(step_id, inngest.Event(name=name, data=data))


def build_client(settings: AgentSettings, ledger: LedgerRecorder) -> inngest.Inngest:
    service = settings.service
    production = bool(service.signing_key)
    return inngest.Inngest(
        middleware=[ledger.middleware, ReplayQuietLog],
        app_id=service.app_id,
        is_production=production,
        api_base_url=service.engine_url,
        event_api_base_url=service.engine_url,
        event_key=service.event_key or None,
        signing_key=service.signing_key or None,
        logger=log,
    )


def build_functions(client: inngest.Inngest, runtime: Runtime) -> list[inngest.Function[Any]]:
    def turn_failed(ctx: inngest.ContextSync) -> None:
        failed: dict[str, Any] = dict(ctx.event.data)
        data = (failed.get("event") or {}).get("data") or {}
        turn_id, conversation_id = data.get("turn_id"), data.get("conversation_id")
        if not turn_id:
            return
        error = failed.get("error") or {}
        message = str(error.get("message") if isinstance(error, dict) else error)
        ctx.step.run("close-turn", lambda: runtime.store.fail_turn(str(turn_id), message))
        ctx.step.send_event(
            "announce",
            inngest.Event(
                name=TURN_FINISHED, data={"conversation_id": conversation_id, "turn_id": turn_id}
            ),
        )

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Agent turn",
        trigger=inngest.TriggerEvent(event=TURN_REQUESTED),
        retries=runtime.settings.service.turn_retries,
        concurrency=[inngest.Concurrency(limit=1, key="event.data.conversation_id")],
        on_failure=turn_failed,
    )
    def agent_turn(ctx: inngest.ContextSync) -> dict[str, Any]:
        data = ctx.event.data
        turn = Turn(
            InngestSteps(ctx.step),
            runtime.effects,
            str(data["conversation_id"]),
            str(data["turn_id"]),
        )
        return turn.run()

    return [agent_turn]


async def sync_with_engine(settings: AgentSettings, attempts: int = 1_000_000) -> None:
    """Register this app with the engine; retried until it answers (it may start later)."""
    serve_url = f"{settings.service.public_url}/api/inngest"
    service = settings.service
    target = EngineTarget.from_env(url=service.engine_url, signing_key=service.signing_key or None)
    with EngineClient(target, timeout_s=10.0) as engine:
        for _ in range(attempts):
            # In a thread: the engine PUTs our own serve URL meanwhile, served by this loop.
            result = await asyncio.to_thread(engine.sync, serve_url)
            if result.ok:
                log.info("synced %s with %s", serve_url, service.engine_url)
                return
            log.warning("sync not done yet: %s", result.error)
            await asyncio.sleep(1.0)


def create_app(
    settings: AgentSettings | None = None,
    runtime: Runtime | None = None,
    *,
    sync: bool = True,
) -> fastapi.FastAPI:
    settings = settings or (runtime.settings if runtime else AgentSettings.from_env())
    runtime = runtime or Runtime.build(settings)
    ledger = LedgerRecorder(runtime.platform, app_id=settings.service.app_id)
    client = build_client(settings, ledger)

    @contextlib.asynccontextmanager
    async def lifespan(_: fastapi.FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(sync_with_engine(settings)) if sync else None
        yield
        if task is not None:
            task.cancel()
        ledger.close()  # commits the ledger's queued step records before the store closes
        runtime.close()

    app = fastapi.FastAPI(title="Loopwright agent", lifespan=lifespan)
    error_handlers(app)
    app.include_router(build_router(runtime, client))
    functions = [*build_functions(client, runtime), ledger.listener(client)]
    inngest.fast_api.serve(app, client, functions)
    # Junk at the SDK path is a 400, not the SDK's 500; bodies are capped (a message is at
    # most 20 000 characters; the engine's calls carry step outputs).
    app.add_middleware(ServeGuard, path=SERVE_PATH)
    app.add_middleware(
        BodyLimit, max_bytes=MAX_API_BODY_BYTES, per_path={SERVE_PATH: MAX_CALL_BYTES}
    )
    return app
