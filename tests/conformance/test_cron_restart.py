"""Crons across an engine restart (protocol 6): no tick fires twice, and none is missed.

A minutely cron runs on an engine of its own; its body notes (tick, run id) on every call. Right after tick T1 has started a run the engine
is killed with SIGKILL (the moment a duplicate would come from, if firing a tick and scheduling
the next were not one transaction). It stays down across T2 and comes back a few seconds
later, inside the grace period, so T2 must still fire, late, exactly once; T3 then fires on
time. Every tick id appears once, and the ticks are consecutive minutes.
"""

from __future__ import annotations

import datetime
import pathlib
import time
from typing import Any

import inngest
import pytest

from . import _engine
from ._engine import EngineAPI, EngineProcess
from ._harness import App, poll, serve_app

MINUTELY = "* * * * *"


def build(app: App) -> list[inngest.Function[Any]]:
    @app.client.create_function(fn_id="tick", trigger=inngest.TriggerCron(cron=MINUTELY))
    async def tick(ctx: inngest.Context) -> str:
        app.journal.note("tick", {"scheduled": ctx.event.data["scheduledAt"], "run": ctx.run_id})
        return "tick"

    return [tick]


def _minute(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_no_duplicate_and_no_missed_tick_across_a_kill(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a restart on a loaded 2-core machine can take longer than the suite's usual 30 s
    monkeypatch.setattr(_engine, "READY_TIMEOUT_S", 120.0)
    engine = EngineProcess(tmp_path)
    engine.start()
    api = EngineAPI(engine.url)
    try:
        with serve_app(api, "cron-restart", "async", build) as app:
            first = poll(lambda: app.journal.notes("tick"), timeout=70, what="tick T1")[0]
            assert engine._proc is not None
            engine._proc.kill()  # right after T1 fired: a duplicate of T1 would show up now
            engine._proc.wait(timeout=10)

            t1 = _minute(first["scheduled"])
            t2 = t1 + datetime.timedelta(minutes=1)
            down_until = t2.timestamp() + 3  # stay down across T2
            time.sleep(max(0.0, down_until - time.time()))
            engine.start()

            def runs_by_tick() -> dict[str, set[str]]:
                # The body may run twice in one run (a call cut by the kill is sent again);
                # what must be unique is the run per tick.
                out: dict[str, set[str]] = {}
                for note in app.journal.notes("tick"):
                    out.setdefault(note["scheduled"], set()).add(note["run"])
                return out

            poll(
                lambda: len(runs_by_tick()) >= 3,
                timeout=(t2.timestamp() + 75) - time.time(),
                what="ticks T2 and T3 after the restart",
            )
            time.sleep(2)  # a late duplicate would land now
            ticks = runs_by_tick()
            assert all(len(runs) == 1 for runs in ticks.values()), f"a tick fired twice: {ticks}"
            fired = sorted(_minute(t) for t in ticks)
            expected = [t1 + datetime.timedelta(minutes=i) for i in range(len(fired))]
            assert fired == expected, f"ticks missed or out of order: {fired}"
            assert len(fired) >= 3
            every_run = [run for runs in ticks.values() for run in runs]
            assert len(set(every_run)) == len(every_run), "two ticks shared a run"
    finally:
        api.close()
        engine.stop()
