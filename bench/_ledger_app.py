"""The SDK app of bench/ledger_overhead.py: one function served twice, once by a client with
the run-ledger middleware (``/api/on``) and once without (``/api/off``), in one process so
both see the same machine. ``GET /count`` says how many step bodies ran, and how many runs
finished, per side."""

from __future__ import annotations

import os
from typing import Any

import fastapi
import inngest
import inngest.fast_api

from loopwright.ledger.middleware import LedgerRecorder
from loopwright.store import open_store

ENGINE = os.environ["BENCH_ENGINE_URL"]
STEPS = int(os.environ.get("BENCH_STEPS", "20"))
counts = {"on": 0, "off": 0}
finished = {"on": 0, "off": 0}  # runs whose last step ran: the driver keeps runs in flight
recorders: list[LedgerRecorder] = []
app = fastapi.FastAPI()


def client_for(side: str) -> inngest.Inngest:
    middleware = []
    if side == "on":
        recorder = LedgerRecorder(open_store(os.environ["BENCH_STORE"]), app_id=f"bench-{side}")
        recorders.append(recorder)
        middleware = [recorder.middleware]
    return inngest.Inngest(
        app_id=f"bench-{side}", is_production=False, api_base_url=ENGINE,
        event_api_base_url=ENGINE, middleware=middleware,
    )  # fmt: skip


def function_for(side: str, client: inngest.Inngest) -> inngest.Function[Any]:
    @client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event=f"bench/{side}"))
    def steps(ctx: inngest.ContextSync) -> int:
        def body() -> int:
            counts[side] += 1
            return counts[side]

        def done() -> None:
            finished[side] += 1

        for _ in range(STEPS):
            ctx.step.run("step", body)
        ctx.step.run("done", done)
        return STEPS

    return steps


for side in ("on", "off"):
    client = client_for(side)
    inngest.fast_api.serve(app, client, [function_for(side, client)], serve_path=f"/api/{side}")


@app.get("/count")
async def count() -> dict[str, int]:  # async: answered on the loop, not behind busy threads
    queue = recorders[0].writer.queue
    return {**counts, **{f"{side}_finished": n for side, n in finished.items()},
            "ledger_writes": queue.queued, "ledger_batches": queue.batches}  # fmt: skip
