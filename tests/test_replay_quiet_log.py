"""A line a function logs is printed once, not again on every later step's replay (the SDK's
own filter leaks in its thread pool; loopwright/replay_quiet_log.py). A plain SDK app on the
real engine, as the sidecar and the agent run theirs."""

from __future__ import annotations

import logging

import inngest
import inngest.fast_api
import pytest

from loopwright.replay_quiet_log import ReplayQuietLog
from tests.conformance._engine import EngineAPI, running_engine
from tests.conformance._sdk_app import SdkServer


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_each_line_is_logged_once_across_replays(tmp_path_factory: pytest.TempPathFactory) -> None:
    lines = Lines()
    logger = logging.getLogger("tests.replay_quiet_log")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    with running_engine(tmp_path_factory.mktemp("replay")) as engine:
        client = inngest.Inngest(
            app_id="replay", is_production=False, api_base_url=engine.url,
            event_api_base_url=engine.url, logger=logger, middleware=[ReplayQuietLog],
        )  # fmt: skip

        @client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="replay/go"))
        def steps(ctx: inngest.ContextSync) -> str:
            ctx.logger.info("start")
            for name in ("a", "b", "c"):
                ctx.step.run(name, lambda n=name: n)
                ctx.logger.info("after %s", name)
            return "done"

        server = SdkServer()
        inngest.fast_api.serve(server.fastapi, client, [steps])
        api = EngineAPI(engine.url)
        with server.running():
            assert api.sync(f"{server.origin}/api/inngest")["ok"]
            for _ in range(2):  # the second run reuses the pool's threads
                (event_id,) = client.send_sync(inngest.Event(name="replay/go"))
                api.completed_run(event_id)
        api.close()
    logger.removeHandler(lines)
    assert lines.lines == ["start", "after a", "after b", "after c"] * 2
