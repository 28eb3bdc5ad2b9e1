"""Function configurations as the SDK registers them, parsed and validated once at sync.

Everything the engine honours is parsed here; any field it does not know is refused
with a message naming the function and the field, never silently ignored
(protocol sections 2.2 and 2.6).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .cron import CronError, CronSpec, parse_cron, validate_jitter
from .durations import DurationError, parse_duration
from .expressions import ExpressionError, compile_expression

DEFAULT_RETRIES = 4
MAX_RETRIES = 20
MAX_TRIGGERS = 10
MAX_EVENT_NAME = 255

_KNOWN_FIELDS = {
    "id",
    "name",
    "triggers",
    "steps",
    "concurrency",
    "throttle",
    "rateLimit",
    "idempotency",
    "debounce",
    "batchEvents",
    "priority",
    "singleton",
    "cancel",
    "timeouts",
}


class FunctionConfigError(ValueError):
    def __init__(self, slug: str, field: str, message: str) -> None:
        super().__init__(f"function '{slug}': {field}: {message}")
        self.slug, self.field = slug, field


@dataclasses.dataclass(frozen=True)
class Trigger:
    event: str | None = None
    expression: str | None = None
    cron: CronSpec | None = None
    jitter: float = 0.0


@dataclasses.dataclass(frozen=True)
class Concurrency:
    limit: int
    key: str | None
    scope: str  # fn | env | account


@dataclasses.dataclass(frozen=True)
class Rate:
    """Shared shape of throttle and rate limit: `limit` per `period` seconds, per key."""

    limit: int
    period: float
    key: str | None
    burst: int = 1


@dataclasses.dataclass(frozen=True)
class Debounce:
    period: float
    key: str | None
    timeout: float | None


@dataclasses.dataclass(frozen=True)
class Batch:
    max_size: int
    timeout: float
    key: str | None
    condition: str | None


@dataclasses.dataclass(frozen=True)
class Singleton:
    mode: str  # skip | cancel
    key: str | None


@dataclasses.dataclass(frozen=True)
class CancelRule:
    event: str
    condition: str | None
    timeout: float | None


@dataclasses.dataclass(frozen=True)
class FunctionConfig:
    slug: str
    name: str
    uuid: str
    app_name: str
    url: str
    retries: int
    triggers: tuple[Trigger, ...]
    concurrency: tuple[Concurrency, ...] = ()
    throttle: Rate | None = None
    rate_limit: Rate | None = None
    debounce: Debounce | None = None
    batch: Batch | None = None
    priority: str | None = None
    singleton: Singleton | None = None
    cancel: tuple[CancelRule, ...] = ()
    timeout_start: float | None = None
    timeout_finish: float | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def call_url(self, step_id: str) -> str:
        """The runtime URL with only `stepId` replaced; `fnId` is kept exactly as given."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "stepId"]
        query.append(("stepId", step_id))
        return urlunsplit(parts._replace(query=urlencode(query)))

    @property
    def crons(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if t.cron is not None)


def parse_function(raw: Any, app_name: str, fn_uuid: str) -> FunctionConfig:
    if not isinstance(raw, dict):
        raise FunctionConfigError("?", "functions[]", "each function must be a JSON object")
    slug = raw.get("id")
    if not isinstance(slug, str) or not slug:
        raise FunctionConfigError("?", "id", "a function needs a non-empty string id")
    p = _Parser(slug)
    unknown = sorted(set(raw) - _KNOWN_FIELDS)
    if unknown:
        raise FunctionConfigError(
            slug, unknown[0], "is not supported by the embedded engine; remove it from the function"
        )
    url, retries = p.steps(raw.get("steps"))
    batch = p.batch(raw.get("batchEvents"))
    cfg = FunctionConfig(
        slug=slug,
        name=str(raw.get("name") or slug),
        uuid=fn_uuid,
        app_name=app_name,
        url=url,
        retries=retries,
        triggers=p.triggers(raw.get("triggers")),
        concurrency=p.concurrency(raw.get("concurrency")),
        throttle=p.rate("throttle", raw.get("throttle"), with_burst=True),
        rate_limit=p.rate_limit(raw.get("rateLimit"), raw.get("idempotency")),
        debounce=p.debounce(raw.get("debounce")),
        batch=batch,
        priority=p.priority(raw.get("priority")),
        singleton=p.singleton(raw.get("singleton")),
        cancel=p.cancel(raw.get("cancel")),
        timeout_start=p.timeout(raw.get("timeouts"), "start"),
        timeout_finish=p.timeout(raw.get("timeouts"), "finish"),
        raw=raw,
    )
    if batch is not None:
        clash = [
            n
            for n, v in (
                ("cancel", cfg.cancel),
                ("debounce", cfg.debounce),
                ("singleton", cfg.singleton),
                ("priority", cfg.priority),
            )
            if v
        ]
        if clash:
            raise FunctionConfigError(slug, "batchEvents", f"cannot be combined with {clash[0]}")
    return cfg


_PERIOD_BOUNDS = {"debounce": (1.0, 7 * 86400.0)}


class _Parser:
    def __init__(self, slug: str) -> None:
        self.slug = slug

    def fail(self, field: str, message: str) -> FunctionConfigError:
        return FunctionConfigError(self.slug, field, message)

    def obj(self, field: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(field, "must be a JSON object")
        return value

    def duration(self, field: str, value: Any, required: bool = True) -> float | None:
        if value is None or value == "":
            if required:
                raise self.fail(field, "is required (a duration such as '30s' or '5m')")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return parse_duration(str(value))
        except DurationError as exc:
            raise self.fail(field, str(exc)) from None

    def expression(self, field: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(field, "must be a CEL expression string")
        try:
            compile_expression(value)
        except ExpressionError as exc:
            raise self.fail(field, str(exc)) from None
        return value

    def integer(self, field: str, value: Any, lo: int, hi: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self.fail(field, f"must be an integer from {lo} to {hi}, got {value!r}")
        return value

    def steps(self, value: Any) -> tuple[str, int]:
        steps = self.obj("steps", value) or {}
        step = steps.get("step")
        if not isinstance(step, dict):
            raise self.fail("steps", "must contain the 'step' entry with a runtime URL")
        runtime = step.get("runtime") or {}
        kind = runtime.get("type", "http")
        # "ws": a Connect worker's function, called over its socket (engine/gateway.py).
        schemes = {"http": ("http://", "https://"), "ws": ("ws://", "wss://")}.get(str(kind))
        if schemes is None:
            raise self.fail(
                "steps.step.runtime.type", f"{kind!r} is not supported; use 'http' or 'ws'"
            )
        url = runtime.get("url")
        if not isinstance(url, str) or not url.startswith(schemes):
            raise self.fail("steps.step.runtime.url", f"must be a {kind} URL for runtime {kind!r}")
        retries_obj = step.get("retries") or {}
        retries = retries_obj.get("attempts", DEFAULT_RETRIES)
        if isinstance(retries, int) and not isinstance(retries, bool) and retries < 0:
            raise self.fail("steps.step.retries.attempts", "retries cannot be negative")
        return url, self.integer("steps.step.retries.attempts", retries, 0, MAX_RETRIES)

    def triggers(self, value: Any) -> tuple[Trigger, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("triggers", "a function needs at least one event or cron trigger")
        if len(value) > MAX_TRIGGERS:
            raise self.fail("triggers", f"at most {MAX_TRIGGERS} triggers are allowed")
        out: list[Trigger] = []
        for i, raw in enumerate(value):
            field = f"triggers[{i}]"
            raw = self.obj(field, raw) or {}
            if "cron" in raw:
                out.append(self.cron_trigger(field, raw))
            elif "event" in raw:
                out.append(self.event_trigger(field, raw))
            else:
                raise self.fail(field, "must have either 'event' or 'cron'")
        keys = [(t.event, t.expression, t.cron.expr if t.cron else None) for t in out]
        if len(set(keys)) != len(keys):
            raise self.fail("triggers", "contains duplicate triggers")
        return tuple(out)

    def cron_trigger(self, field: str, raw: dict[str, Any]) -> Trigger:
        try:
            spec = parse_cron(str(raw["cron"]))
        except CronError as exc:
            raise self.fail(f"{field}.cron", str(exc)) from None
        jitter = self.duration(f"{field}.jitter", raw.get("jitter"), required=False) or 0.0
        if jitter:
            try:
                validate_jitter(jitter)
            except CronError as exc:
                raise self.fail(f"{field}.jitter", str(exc)) from None
        return Trigger(cron=spec, jitter=jitter)

    def event_trigger(self, field: str, raw: dict[str, Any]) -> Trigger:
        name = raw["event"]
        if not isinstance(name, str) or not name or len(name) > MAX_EVENT_NAME:
            raise self.fail(f"{field}.event", f"must be a name of 1 to {MAX_EVENT_NAME} chars")
        if "*" in name and not re.search(r"[/.]\*$", name):
            raise self.fail(f"{field}.event", "a wildcard may only follow '/' or '.' at the end")
        return Trigger(
            event=name, expression=self.expression(f"{field}.expression", raw.get("expression"))
        )

    def concurrency(self, value: Any) -> tuple[Concurrency, ...]:
        if value is None:
            return ()
        if isinstance(value, int) and not isinstance(value, bool):
            value = [{"limit": value}]
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail("concurrency", "must be a list of {limit, key?, scope?}")
        if len(value) > 2:
            raise self.fail("concurrency", "at most 2 concurrency limits are allowed")
        out = []
        for i, raw in enumerate(value):
            field = f"concurrency[{i}]"
            raw = self.obj(field, raw) or {}
            scope = raw.get("scope") or "fn"
            if scope not in ("fn", "env", "account"):
                raise self.fail(f"{field}.scope", "must be one of fn, env, account")
            limit = self.integer(f"{field}.limit", raw.get("limit"), 0, 100_000)
            out.append(Concurrency(limit, self.expression(f"{field}.key", raw.get("key")), scope))
        return tuple(out)

    def rate(self, field: str, value: Any, with_burst: bool = False) -> Rate | None:
        raw = self.obj(field, value)
        if raw is None:
            return None
        limit = self.integer(f"{field}.limit", raw.get("limit"), 1, 1_000_000)
        period = self.duration(f"{field}.period", raw.get("period"))
        assert period is not None
        if not 1 <= period <= 7 * 86400:
            raise self.fail(f"{field}.period", "must be between 1s and 7d")
        burst = (
            self.integer(f"{field}.burst", raw.get("burst", 1) or 1, 1, 10_000) if with_burst else 1
        )
        return Rate(limit, period, self.expression(f"{field}.key", raw.get("key")), burst)

    def rate_limit(self, rate_limit: Any, idempotency: Any) -> Rate | None:
        if idempotency:  # Go turns idempotency into a 24 h rate limit of 1, replacing rateLimit
            key = self.expression("idempotency", idempotency)
            return Rate(1, 86400.0, key)
        return self.rate("rateLimit", rate_limit)

    def debounce(self, value: Any) -> Debounce | None:
        raw = self.obj("debounce", value)
        if raw is None:
            return None
        period = self.duration("debounce.period", raw.get("period"))
        assert period is not None
        lo, hi = _PERIOD_BOUNDS["debounce"]
        if not lo <= period <= hi:
            raise self.fail("debounce.period", "must be between 1s and 7d")
        timeout = self.duration("debounce.timeout", raw.get("timeout"), required=False)
        return Debounce(period, self.expression("debounce.key", raw.get("key")), timeout)

    def batch(self, value: Any) -> Batch | None:
        raw = self.obj("batchEvents", value)
        if raw is None:
            return None
        size = self.integer("batchEvents.maxSize", raw.get("maxSize"), 1, 100)
        timeout = self.duration("batchEvents.timeout", raw.get("timeout"))
        assert timeout is not None
        if not 1 <= timeout <= 60:
            raise self.fail("batchEvents.timeout", "must be between 1s and 60s")
        return Batch(
            size,
            timeout,
            self.expression("batchEvents.key", raw.get("key")),
            self.expression("batchEvents.if", raw.get("if")),
        )

    def priority(self, value: Any) -> str | None:
        raw = self.obj("priority", value)
        return None if raw is None else self.expression("priority.run", raw.get("run"))

    def singleton(self, value: Any) -> Singleton | None:
        raw = self.obj("singleton", value)
        if raw is None:
            return None
        mode = raw.get("mode")
        if mode not in ("skip", "cancel"):
            raise self.fail("singleton.mode", "must be 'skip' or 'cancel'")
        return Singleton(mode, self.expression("singleton.key", raw.get("key")))

    def cancel(self, value: Any) -> tuple[CancelRule, ...]:
        if not value:
            return ()
        if not isinstance(value, list) or len(value) > 5:
            raise self.fail("cancel", "must be a list of at most 5 {event, if?, timeout?}")
        out = []
        for i, raw in enumerate(value):
            field = f"cancel[{i}]"
            raw = self.obj(field, raw) or {}
            event = raw.get("event")
            if not isinstance(event, str) or not event:
                raise self.fail(f"{field}.event", "must be an event name")
            out.append(
                CancelRule(
                    event,
                    self.expression(f"{field}.if", raw.get("if")),
                    self.duration(f"{field}.timeout", raw.get("timeout"), required=False),
                )
            )
        return tuple(out)

    def timeout(self, value: Any, which: str) -> float | None:
        raw = self.obj("timeouts", value)
        if raw is None:
            return None
        return self.duration(f"timeouts.{which}", raw.get(which), required=False)
