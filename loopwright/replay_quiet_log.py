"""``ctx.logger`` quiet while a call replays memoized steps, in every thread.

Each engine request re-runs a function from the top; lines logged before the first new step
were already logged by an earlier request. The SDK's own logger middleware means to silence
them with a context variable, but it sets "replaying" on the event loop and the handler runs
in its thread pool, where "executing" stays set from the previous call: under `loopwright up`
every health-check line was printed once per later step (six times a minute per service).
This middleware keeps the flag on its own per-request instance instead: replaying from
``transform_input`` until ``before_execution`` (the SDK calls it when the memos run out).
"""

from __future__ import annotations

from typing import Any

import inngest

#: The logger methods the SDK's context exposes (inngest's FilteredLogger proxies the same).
LOG_METHODS = frozenset(
    {"critical", "debug", "error", "exception", "fatal", "info", "log", "warn", "warning"}
)


class ReplayQuietLog(inngest.MiddlewareSync):
    def __init__(self, client: inngest.Inngest, raw_request: object) -> None:
        super().__init__(client, raw_request)
        self.replaying = True

    def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
        self.replaying = steps.size > 0
        ctx.logger = _QuietWhileReplaying(ctx.logger, self)

    def before_execution(self) -> None:
        self.replaying = False


class _QuietWhileReplaying:
    def __init__(self, logger: Any, call: ReplayQuietLog) -> None:
        self._logger = logger
        self._call = call

    def __getattr__(self, name: str) -> Any:
        if name in LOG_METHODS and self._call.replaying:
            return _drop
        return getattr(self._logger, name)


def _drop(*_: object, **__: object) -> None:
    return None
