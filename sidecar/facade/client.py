"""``skill``: the client object a skill file declares its functions on.

It mirrors ``inngest.Inngest.create_function`` and the SDK's trigger and flow-control classes,
but records *declarations* — plain data — instead of building SDK objects: the SDK client holds
the signing key and middleware hooks, so it never enters the sandbox. The validator checks the
declarations (``sidecar/validation/contract.py``); the registration piece turns the validated
specs into real inngest functions outside the sandbox.

Helpers come in two spellings that build the same data: ``skill.cron("*/30 * * * *")`` and
``skill.TriggerCron(cron="*/30 * * * *")``, ``skill.concurrency(limit=1)`` and
``skill.Concurrency(limit=1)``, so SDK-shaped code reads unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

from .errors import SKILL_ERRORS, StepMisuse
from .exposure import Exposed
from .payload import JSON

Handler = Callable[..., Any]


def _plain(value: object) -> JSON:
    """Declarations travel as JSON: durations become milliseconds, unknown objects a marker."""
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return {"unsupported": type(value).__name__}


def _decl(kind: str, **fields: object) -> JSON:
    return {"kind": kind, **{k: _plain(v) for k, v in fields.items()}}


def cron(cron: str, jitter: str | None = None) -> JSON:
    return _decl("cron", cron=cron, jitter=jitter)


def event(event: str, expression: str | None = None) -> JSON:
    return _decl("event", event=event, expression=expression)


def concurrency(limit: int, key: str | None = None, scope: str | None = None) -> JSON:
    return _decl("concurrency", limit=limit, key=key, scope=scope)


def throttle(
    limit: int, period: int | datetime.timedelta, key: str | None = None, burst: int | None = None
) -> JSON:
    return _decl("throttle", limit=limit, period=period, key=key, burst=burst)


def rate_limit(limit: int, period: int | datetime.timedelta, key: str | None = None) -> JSON:
    return _decl("rate_limit", limit=limit, period=period, key=key)


def debounce(
    period: int | datetime.timedelta,
    key: str | None = None,
    timeout: int | datetime.timedelta | None = None,
) -> JSON:
    return _decl("debounce", period=period, key=key, timeout=timeout)


def singleton(mode: str, key: str | None = None) -> JSON:
    return _decl("singleton", mode=mode, key=key)


def timeouts(
    start: int | datetime.timedelta | None = None, finish: int | datetime.timedelta | None = None
) -> JSON:
    return _decl("timeouts", start=start, finish=finish)


def cancel(
    event: str, if_exp: str | None = None, timeout: int | datetime.timedelta | None = None
) -> JSON:
    return _decl("cancel", event=event, if_exp=if_exp, timeout=timeout)


def batch(
    max_size: int,
    timeout: int | datetime.timedelta | None = None,
    key: str | None = None,
    if_exp: str | None = None,
) -> JSON:
    return _decl("batch", max_size=max_size, timeout=timeout, key=key, if_exp=if_exp)


def priority(run: str) -> JSON:
    return _decl("priority", run=run)


def make_event(name: str, data: JSON = None, id: str | None = None, ts: int | None = None) -> JSON:
    """``skill.Event(name, data)``: an event to send, as a plain dict."""
    out: dict[str, JSON] = {"name": name, "data": _plain(data) if data is not None else {}}
    if id is not None:
        out["id"] = id
    if ts is not None:
        out["ts"] = ts
    return out


HELPERS: dict[str, Callable[..., JSON]] = {
    "cron": cron,
    "event": event,
    "concurrency": concurrency,
    "throttle": throttle,
    "rate_limit": rate_limit,
    "debounce": debounce,
    "singleton": singleton,
    "timeouts": timeouts,
    "cancel": cancel,
    "batch": batch,
    "priority": priority,
    # The SDK's spellings.
    "TriggerCron": cron,
    "TriggerEvent": event,
    "Concurrency": concurrency,
    "Throttle": throttle,
    "RateLimit": rate_limit,
    "Debounce": debounce,
    "Singleton": singleton,
    "Timeouts": timeouts,
    "Cancel": cancel,
    "Batch": batch,
    "Priority": priority,
    "Event": make_event,
}

#: ``skill.function`` keyword arguments, as in ``inngest.Inngest.create_function``.
FUNCTION_OPTIONS = (
    "name",
    "retries",
    "concurrency",
    "throttle",
    "debounce",
    "singleton",
    "rate_limit",
    "idempotency",
    "timeouts",
    "cancel",
    "batch_events",
    "priority",
)


@dataclasses.dataclass
class FunctionDeclaration:
    """One ``@skill.function(...)`` as written: raw, checked later by the contract stage."""

    fn_id: JSON
    trigger: JSON
    options: dict[str, JSON]
    handler: Handler
    line: int
    on_failure: Handler | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "fn_id": self.fn_id,
            "trigger": self.trigger,
            "options": self.options,
            "handler": getattr(self.handler, "__name__", "?"),
            "line": self.line,
            "on_failure": getattr(self.on_failure, "__name__", None) if self.on_failure else None,
        }


class SkillClient(Exposed):
    __slots__ = ("_declarations", "_sealed")
    public = frozenset({"function", *HELPERS, *(cls.__name__ for cls in SKILL_ERRORS)})

    def __init__(self) -> None:
        self._declarations: list[FunctionDeclaration] = []
        self._sealed = False

    @property
    def declarations(self) -> list[FunctionDeclaration]:
        return list(self._declarations)

    def seal(self) -> None:
        """Called after the module body ran: from now on declaring functions is an error."""
        self._sealed = True

    def function(
        self, *, fn_id: str, trigger: JSON, on_failure: Handler | None = None, **options: object
    ) -> Callable[[Handler], Handler]:
        if self._sealed:
            raise StepMisuse("functions are declared at module level, not while a skill runs")
        unknown = set(options) - set(FUNCTION_OPTIONS)
        if unknown:
            raise TypeError(f"skill.function() got unexpected keyword arguments {sorted(unknown)}")

        def decorate(handler: Handler) -> Handler:
            self._declarations.append(
                FunctionDeclaration(
                    fn_id=_plain(fn_id),
                    trigger=_plain(trigger),
                    options={k: _plain(v) for k, v in options.items()},
                    handler=handler,
                    line=getattr(getattr(handler, "__code__", None), "co_firstlineno", 0),
                    on_failure=on_failure,
                )
            )
            return handler

        return decorate

    def __getattr__(self, name: str) -> object:
        if name in HELPERS:
            return HELPERS[name]
        for cls in SKILL_ERRORS:
            if cls.__name__ == name:
                return cls
        raise AttributeError(name)
