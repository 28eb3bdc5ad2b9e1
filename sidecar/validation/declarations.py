"""Validated function declarations: what ``@skill.function(...)`` means once checked.

The field names mirror ``inngest.Inngest.create_function`` and the SDK's config classes;
durations are integer milliseconds (what ``skill.*`` helpers record). The bounds are Inngest's
where it has them (retries ≤ 20, two concurrency keys, batches ≤ 100 events within 60 s) and
sane ones elsewhere. ``FunctionSpec.to_sdk_kwargs`` builds the real SDK config objects — the
only place they are built, outside the sandbox, for the registration piece.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import pydantic

from sidecar.facade.events import event_name_problem

from .manifest import Manifest
from .naming import SKILL_ID_PATTERN
from .triggers import cron_problem, trigger_event_problem

SECOND = 1000
DAY = 24 * 3600 * SECOND


def _checked(problem_of: Any) -> Any:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return pydantic.AfterValidator(check)


#: Durations in milliseconds, with the bounds Inngest applies to each kind.
UpToAWeek = Annotated[int, pydantic.Field(ge=SECOND, le=7 * DAY)]
UpToADay = Annotated[int, pydantic.Field(ge=SECOND, le=DAY)]
UpToAMinute = Annotated[int, pydantic.Field(ge=SECOND, le=60 * SECOND)]


Key = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=500)]


class _Spec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


class CronTriggerSpec(_Spec):
    kind: Literal["cron"]
    cron: Annotated[str, _checked(cron_problem)]
    jitter: str | None = None


class EventTriggerSpec(_Spec):
    kind: Literal["event"]
    event: Annotated[str, _checked(trigger_event_problem)]
    expression: Key | None = None


TriggerSpec = Annotated[CronTriggerSpec | EventTriggerSpec, pydantic.Field(discriminator="kind")]


class ConcurrencySpec(_Spec):
    kind: Literal["concurrency"]
    limit: Annotated[int, pydantic.Field(ge=1, le=1000)]
    key: Key | None = None
    scope: Literal["account", "env", "fn"] | None = None


class ThrottleSpec(_Spec):
    kind: Literal["throttle"]
    limit: Annotated[int, pydantic.Field(ge=1, le=10_000)]
    period: UpToAWeek
    key: Key | None = None
    burst: Annotated[int, pydantic.Field(ge=1, le=10_000)] | None = None


class RateLimitSpec(_Spec):
    kind: Literal["rate_limit"]
    limit: Annotated[int, pydantic.Field(ge=1, le=10_000)]
    period: UpToADay
    key: Key | None = None


class DebounceSpec(_Spec):
    kind: Literal["debounce"]
    period: UpToAWeek
    key: Key | None = None
    timeout: UpToAWeek | None = None


class SingletonSpec(_Spec):
    kind: Literal["singleton"]
    mode: Literal["skip", "cancel"]
    key: Key | None = None


class TimeoutsSpec(_Spec):
    kind: Literal["timeouts"]
    start: UpToAWeek | None = None
    finish: UpToAWeek | None = None


class CancelSpec(_Spec):
    kind: Literal["cancel"]
    event: Annotated[str, _checked(event_name_problem)]
    if_exp: Key | None = None
    timeout: UpToAWeek | None = None


class BatchSpec(_Spec):
    kind: Literal["batch"]
    max_size: Annotated[int, pydantic.Field(ge=1, le=100)]
    timeout: UpToAMinute | None = None
    key: Key | None = None
    if_exp: Key | None = None


class PrioritySpec(_Spec):
    kind: Literal["priority"]
    run: Key


class FunctionSpec(_Spec):
    fn_id: Annotated[str, pydantic.StringConstraints(pattern=SKILL_ID_PATTERN.pattern)]
    handler: str
    line: int
    triggers: list[TriggerSpec] = pydantic.Field(min_length=1, max_length=10)
    on_failure: str | None = None
    name: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=100)] | None = None
    retries: Annotated[int, pydantic.Field(ge=0, le=20)] | None = None
    concurrency: list[ConcurrencySpec] | None = pydantic.Field(default=None, max_length=2)
    throttle: ThrottleSpec | None = None
    rate_limit: RateLimitSpec | None = None
    debounce: DebounceSpec | None = None
    singleton: SingletonSpec | None = None
    idempotency: Key | None = None
    timeouts: TimeoutsSpec | None = None
    cancel: list[CancelSpec] | None = pydantic.Field(default=None, max_length=5)
    batch_events: BatchSpec | None = None
    priority: PrioritySpec | None = None

    @classmethod
    def from_declaration(cls, declared: dict[str, Any]) -> FunctionSpec:
        trigger = declared.get("trigger")
        return cls.model_validate({
            "fn_id": declared.get("fn_id"),
            "handler": declared.get("handler"),
            "line": declared.get("line"),
            "on_failure": declared.get("on_failure"),
            "triggers": trigger if isinstance(trigger, list) else [trigger],
            **(declared.get("options") or {}),
        })  # fmt: skip

    def to_sdk_kwargs(self) -> dict[str, Any]:
        """``create_function`` keyword arguments with real inngest config objects."""
        import inngest  # only outside the sandbox: the SDK never enters skill processes

        def ms(value: int | None) -> datetime.timedelta | None:
            return None if value is None else datetime.timedelta(milliseconds=value)

        def plain(spec: _Spec | None, **durations: int | None) -> dict[str, Any] | None:
            if spec is None:
                return None
            data = spec.model_dump(exclude={"kind"}, exclude_none=True)
            data.update({k: ms(v) for k, v in durations.items() if v is not None})
            return data

        triggers: list[inngest.TriggerCron | inngest.TriggerEvent] = [
            inngest.TriggerCron(cron=t.cron, jitter=t.jitter)
            if isinstance(t, CronTriggerSpec)
            else inngest.TriggerEvent(event=t.event, expression=t.expression)
            for t in self.triggers
        ]
        t, r, d = self.throttle, self.rate_limit, self.debounce
        b, o = self.batch_events, self.timeouts
        return {
            "fn_id": self.fn_id,
            "name": self.name,
            "trigger": triggers,
            "retries": self.retries,
            "idempotency": self.idempotency,
            "concurrency": [inngest.Concurrency(**plain(c) or {}) for c in self.concurrency]
            if self.concurrency else None,
            "throttle": inngest.Throttle(**plain(t, period=t.period) or {}) if t else None,
            "rate_limit": inngest.RateLimit(**plain(r, period=r.period) or {}) if r else None,
            "debounce": inngest.Debounce(**plain(d, period=d.period, timeout=d.timeout) or {})
            if d else None,
            "singleton": inngest.Singleton(**plain(self.singleton) or {})
            if self.singleton else None,
            "timeouts": inngest.Timeouts(**plain(o, start=o.start, finish=o.finish) or {})
            if o else None,
            "cancel": [inngest.Cancel(**plain(c, timeout=c.timeout) or {}) for c in self.cancel]
            if self.cancel else None,
            "batch_events": inngest.Batch(**plain(b, timeout=b.timeout) or {}) if b else None,
            "priority": inngest.Priority(**plain(self.priority) or {}) if self.priority else None,
        }  # fmt: skip


class SkillSpec(pydantic.BaseModel):
    """A validated skill: its manifest and its functions, ready for the registry."""

    manifest: Manifest
    functions: list[FunctionSpec]
    source_sha256: str
