"""The checkpoint API (protocol 4.17): how the TypeScript SDK 4.x saves steps it ran itself.

With checkpointing on (its default), the SDK runs several steps within one call and saves
each through `POST /v1/checkpoint/{run_id}/async` before going on; the engine's answer
means "saved for good", so the step never runs again, even across a crash. A checkpoint
from a call the engine no longer waits for is refused with 409 (a stale dispatch), and
the SDK then stops that execution.

`POST /v1/checkpoint` (a new run) and `POST /v1/checkpoint/{run_id}/steps` serve only the
SDK's synchronous "durable endpoints" (an HTTP handler that is itself the run, with no
function registered by sync). The embedded engine refuses them with a 501 naming what to
use instead; served functions never call them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .ops import RunFailure

SYNC_REFUSED = (
    "durable endpoints (the SDK's synchronous checkpoint mode) are not supported by the "
    "embedded engine; serve the function with the SDK's serve handler and trigger it by an "
    "event, or run against the Inngest Dev Server"
)


def routes(app: web.Application, handlers: Any) -> None:
    """Add the checkpoint routes; `handlers` is the api module (keeps imports one-way)."""
    r = app.router
    r.add_post("/v1/checkpoint/{run_id}/async", handlers.checkpoint_async)
    r.add_post("/v1/checkpoint/{run_id}/steps", handlers.checkpoint_steps)
    r.add_post("/v1/checkpoint", handlers.checkpoint_new_run)


def steps_of(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise ValueError("Invalid checkpoint: the body must be a JSON object")
    steps = body.get("steps")
    if not isinstance(steps, list) or not all(
        isinstance(op, dict) and isinstance(op.get("id"), str) for op in steps
    ):
        raise ValueError("Invalid checkpoint: `steps` must be a list of ops with string ids")
    return steps


def failure_message(exc: RunFailure) -> str:
    return f"{exc.body['name']}: {exc.body['message']}"
