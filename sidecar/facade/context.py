"""``ctx``: what a skill handler receives instead of ``inngest.ContextSync``.

Same names as the SDK's context (``event``, ``events``, ``run_id``, ``attempt``, ``step``)
plus ``capabilities`` and ``log``. Everything on it is plain data or an ``Exposed`` facade;
the SDK context, client and logger stay on the platform side of the boundary.
"""

from __future__ import annotations

from collections.abc import Callable

from .capabilities import Capabilities
from .errors import StepMisuse
from .events import EventView
from .exposure import Exposed
from .limits import MAX_LOG_MESSAGE
from .payload import JSON, to_json_value
from .steps import Step

#: Receives ``ctx.log`` lines: (message, fields). A worker forwards them to the SDK's
#: idempotent logger, so replays do not log twice.
LogSink = Callable[[str, dict[str, JSON]], None]


class SkillContext(Exposed):
    __slots__ = ("_sink", "attempt", "capabilities", "event", "events", "run_id", "step")
    public = frozenset({"event", "events", "run_id", "attempt", "step", "capabilities", "log"})

    def __init__(
        self,
        *,
        events: list[EventView],
        run_id: str,
        attempt: int,
        step: Step,
        capabilities: Capabilities,
        log_sink: LogSink,
    ) -> None:
        if not events:
            raise ValueError("a run has at least one event")
        self.event = events[0]
        # A tuple, not a list: the batch is read-only and cannot be re-bound item by item.
        self.events = tuple(events)
        self.run_id = run_id
        self.attempt = attempt
        self.step = step
        self.capabilities = capabilities
        self._sink = log_sink

    def log(self, message: str, **fields: JSON) -> None:
        if not isinstance(message, str):
            raise StepMisuse("ctx.log needs a message string")
        checked = to_json_value(fields, "ctx.log fields", max_bytes=64 * 1024)
        self._sink(message[:MAX_LOG_MESSAGE], checked)
