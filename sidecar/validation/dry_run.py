"""The dry run: call one function once with fake capabilities, then replay it.

Runs inside the sandbox process. The first pass drives the handler through
``RecordingStepBackend`` with ``FakeCapabilities`` (canned answers, optional faults) and
records steps, capability calls and logs. If it succeeds, a second pass replays the handler
against the memoized steps, as the engine would on its next request: a different sequence of
steps or a different return value means code outside steps is nondeterministic.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from sidecar.facade.capabilities import CapabilityCall, build_capabilities
from sidecar.facade.context import SkillContext
from sidecar.facade.errors import ReplayDiverged
from sidecar.facade.events import EventView
from sidecar.facade.fakes import FakeCapabilities
from sidecar.facade.payload import JSON, to_json_value
from sidecar.facade.recording import RecordingStepBackend, StepRecord
from sidecar.facade.steps import Step, StepGrants

from .declarations import FunctionSpec
from .loader import describe, skill_line
from .manifest import Manifest
from .outcomes import CapabilityCallOutcome, DryRunResult, LogLine, RunError, StepOutcome

RUN_ID = "01DRYRUN000000000000000000"
#: Bytes of step outputs, capability payloads and return value a result carries back to the
#: sidecar; past it values become {"omitted_bytes": n}, so a skill cannot flood the sidecar.
MAX_REPORTED_BYTES = 1024 * 1024
#: Log lines a result carries back.
MAX_REPORTED_LOGS = 200
#: 2024-01-01T00:00:00Z in milliseconds: dry-run events carry a fixed timestamp.
EVENT_TS = 1_704_067_200_000


@dataclasses.dataclass(frozen=True)
class DryRunOptions:
    #: Results for wait_for_event / invoke steps, by step id (default: timeout → None).
    step_stubs: dict[str, JSON] = dataclasses.field(default_factory=dict)
    #: Canned capability answers, by "capability.method".
    fixtures: dict[str, JSON] = dataclasses.field(default_factory=dict)
    #: Injected capability errors, by "capability.method" or "capability" → error class name.
    faults: dict[str, str] = dataclasses.field(default_factory=dict)


def default_event(spec: FunctionSpec, manifest: Manifest) -> dict[str, JSON]:
    """What the engine would send: the cron tick, or the manifest's example event."""
    trigger = spec.triggers[0]
    if trigger.kind == "cron":
        return {
            "name": "inngest/scheduled.timer",
            "data": {"cron": trigger.cron},
            "id": "dry-run",
            "ts": EVENT_TS,
        }
    example = next(
        (t.example for t in manifest.triggers if t.event == trigger.event and t.example), {}
    )
    return {"name": trigger.event, "data": example, "id": "dry-run", "ts": EVENT_TS}


def failure_event(fn_id: str, event: dict[str, JSON]) -> dict[str, JSON]:
    """The event an ``on_failure`` handler receives (inngest/function.failed)."""
    data = {
        "error": {"name": "Error", "message": "dry run failure"},
        "event": event,
        "function_id": fn_id,
        "run_id": RUN_ID,
    }
    return {"name": "inngest/function.failed", "data": data, "id": "dry-run-failed", "ts": EVENT_TS}


@dataclasses.dataclass
class _Pass:
    records: list[StepRecord]
    calls: list[CapabilityCall]
    logs: list[LogLine]
    value: JSON = None
    error: RunError | None = None


def run_function(
    handler: Callable[..., Any],
    label: str,
    manifest: Manifest,
    event: dict[str, JSON],
    file: str,
    options: DryRunOptions,
) -> DryRunResult:
    first = _execute(handler, manifest, event, file, options, replay=None)
    error = first.error
    if error is None:
        second = _execute(handler, manifest, event, file, options, replay=first.records)
        error = second.error
        if error is None and second.value != first.value:
            error = RunError(
                rule="dry-run-nondeterministic",
                type="ReplayDiverged",
                message="the return value differs on replay",
            )
    budget = _Budget(MAX_REPORTED_BYTES)
    return DryRunResult(
        fn_id=label,
        event=event,
        return_value=budget.keep(first.value),
        steps=[
            StepOutcome(**{**dataclasses.asdict(r), "output": budget.keep(r.output)})
            for r in first.records
        ],
        capability_calls=[
            CapabilityCallOutcome(
                **{
                    **dataclasses.asdict(c),
                    "args": budget.keep(c.args),
                    "result": budget.keep(c.result),
                }
            )
            for c in first.calls
        ],
        logs=first.logs[:MAX_REPORTED_LOGS],
        error=error,
    )


class _Budget:
    """Keeps values while their JSON fits in the remaining byte budget."""

    def __init__(self, limit: int) -> None:
        self.remaining = limit

    def keep(self, value: Any) -> Any:
        size = len(json.dumps(value, default=str))
        if size > self.remaining:
            return {"omitted_bytes": size}
        self.remaining -= size
        return value


def _execute(
    handler: Callable[..., Any],
    manifest: Manifest,
    event: dict[str, JSON],
    file: str,
    options: DryRunOptions,
    *,
    replay: list[StepRecord] | None,
) -> _Pass:
    backend = RecordingStepBackend(options.step_stubs, replay=replay)
    result = _Pass(records=backend.records, calls=[], logs=[])
    fakes = FakeCapabilities(options.fixtures, options.faults)
    ctx = SkillContext(
        events=[EventView.from_json(event)],
        run_id=RUN_ID,
        attempt=0,
        step=Step(
            backend,
            run_id=RUN_ID,
            grants=StepGrants(emits=frozenset(manifest.emits), invokes=frozenset(manifest.invokes)),
        ),
        capabilities=build_capabilities(
            manifest.capabilities, fakes.backends(), result.calls.append
        ),
        log_sink=lambda message, fields: result.logs.append(
            LogLine(message=message, fields=fields)
        ),
    )
    try:
        result.value = to_json_value(handler(ctx), "the function's return value")
        if replay is not None and len(backend.records) != len(replay):
            raise ReplayDiverged(
                f"on replay the function ended after {len(backend.records)} steps instead of "
                f"{len(replay)}; code outside steps must make the same decisions every time"
            )
    except BaseException as err:  # skill code failed: every kind becomes a reported error
        rule_id, message = describe(err)
        result.error = RunError(
            rule=rule_id, type=type(err).__name__, message=message, line=skill_line(err, file)
        )
    return result
