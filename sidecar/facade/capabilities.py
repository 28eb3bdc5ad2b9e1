"""``ctx.capabilities``: the only way a skill reaches the world, each call checked by a gate.

A gate sits between skill code and a backend. It enforces what the manifest granted (sources,
channels, hosts, the per-run LLM budget), refuses calls made outside a step callback (they
would repeat on every replay), records every call, hands the backend an idempotency key made
of run id, step id and call number (so a retried step never posts twice), turns unexpected
backend failures into a ``CapabilityError``, and returns a JSON copy of the result so no
backend object ever reaches skill code.

Backends are a seam: the platform's real ones (issue 4: Prometheus, Slack, the LLM service...)
and the fakes in ``fakes.py`` for the dry run implement the same protocols.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable
from typing import Protocol

from . import scope
from .errors import (
    CapabilityDenied,
    CapabilityError,
    CapabilityOutsideStep,
    LLMBudgetExceeded,
    SkillViolation,
)
from .exposure import Exposed
from .grants import CapabilityGrants, HttpGrant, IncidentsGrant, LedgerGrant, LLMGrant
from .payload import JSON, to_json_value

MAX_CAPABILITY_RESULT_BYTES = 4 * 1024 * 1024


class MetricsBackend(Protocol):
    def query(self, promql: str, *, source: str) -> JSON: ...

    def query_range(self, promql: str, *, source: str, minutes: int, step_seconds: int) -> JSON: ...

    def host(self) -> JSON: ...


class DeploysBackend(Protocol):
    def recent(self, *, source: str, service: str | None, hours: float) -> JSON: ...


class NotifyBackend(Protocol):
    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON: ...


class LLMBackend(Protocol):
    def classify(
        self, text: str, *, labels: list[str], instructions: str | None, budget_usd: float
    ) -> JSON: ...

    def complete(
        self, prompt: str, *, system: str | None, max_tokens: int, budget_usd: float
    ) -> JSON: ...


class HttpBackend(Protocol):
    def get(self, url: str, *, params: dict[str, str], timeout_seconds: float) -> JSON: ...


class IncidentsBackend(Protocol):
    def observe(
        self,
        service: str,
        *,
        label: str,
        signals: list[str],
        reason: str,
        onset: float,
        checked_at: float,
    ) -> JSON: ...


class LedgerBackend(Protocol):
    def cron_skills(self) -> JSON: ...

    def fires(self, skill: str, *, since: float, until: float, function: str | None) -> JSON: ...

    def runs(
        self, skill: str, *, since: float, until: float, function: str | None, limit: int
    ) -> JSON: ...


@dataclasses.dataclass(frozen=True)
class CapabilityBackends:
    metrics: MetricsBackend | None = None
    deploys: DeploysBackend | None = None
    notify: NotifyBackend | None = None
    llm: LLMBackend | None = None
    http: HttpBackend | None = None
    incidents: IncidentsBackend | None = None
    ledger: LedgerBackend | None = None


@dataclasses.dataclass(frozen=True)
class CapabilityCall:
    """One call as the recorder sees it."""

    capability: str
    method: str
    args: dict[str, JSON]
    step_id: str
    result: JSON = None
    error: str | None = None


#: Receives every call (the dry run keeps them; a worker may log them).
CallRecorder = Callable[[CapabilityCall], None]


class _Gate(Exposed):
    __slots__ = ("_backend", "_record")
    capability = ""

    def __init__(self, backend: object, record: CallRecorder) -> None:
        self._backend = backend
        self._record = record

    def _call(self, method: str, args: dict[str, JSON], invoke: Callable[[str], JSON]) -> JSON:
        where = scope.require_step(
            f"ctx.capabilities.{self.capability}.{method}", CapabilityOutsideStep
        )
        args = to_json_value(args, f"the arguments of {self.capability}.{method}")
        try:
            raw = invoke(where.next_call_key(f"{self.capability}.{method}"))
            result = to_json_value(
                raw,
                f"the result of {self.capability}.{method}",
                max_bytes=MAX_CAPABILITY_RESULT_BYTES,
            )
        except (CapabilityError, SkillViolation) as err:
            self._record(
                CapabilityCall(self.capability, method, args, where.step_id, error=repr(err))
            )
            raise
        except Exception as err:
            # Never hand a backend's own exception (and its traceback) to skill code.
            self._record(
                CapabilityCall(self.capability, method, args, where.step_id, error=repr(err))
            )
            raise CapabilityError(
                f"{self.capability}.{method} failed: {type(err).__name__}"
            ) from None
        self._record(CapabilityCall(self.capability, method, args, where.step_id, result=result))
        return result


def _pick(value: str | None, allowed: list[str], what: str) -> str:
    """The granted name to use: ``value``, or the first granted one when None."""
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise CapabilityDenied(f"{what} {value!r} is not granted; the manifest allows {allowed}")
    return value


class MetricsGate(_Gate):
    __slots__ = ("_sources",)
    capability = "metrics"
    public = frozenset({"query", "query_range", "host"})

    def __init__(self, backend: MetricsBackend, record: CallRecorder, sources: list[str]) -> None:
        super().__init__(backend, record)
        self._sources = sources

    def query(self, promql: str, *, source: str | None = None) -> JSON:
        src = _pick(source, self._sources, "metrics source")
        backend: MetricsBackend = self._backend  # type: ignore[assignment]
        return self._call(
            "query",
            {"promql": promql, "source": src},
            lambda _key: backend.query(promql, source=src),
        )

    def query_range(
        self, promql: str, *, minutes: int = 60, step_seconds: int = 60, source: str | None = None
    ) -> JSON:
        src = _pick(source, self._sources, "metrics source")
        backend: MetricsBackend = self._backend  # type: ignore[assignment]
        args = {"promql": promql, "minutes": minutes, "step_seconds": step_seconds, "source": src}
        return self._call(
            "query_range",
            args,
            lambda _key: backend.query_range(
                promql, source=src, minutes=minutes, step_seconds=step_seconds
            ),
        )

    def host(self) -> JSON:
        _pick("host", self._sources, "metrics source")
        backend: MetricsBackend = self._backend  # type: ignore[assignment]
        return self._call("host", {}, lambda _key: backend.host())


class DeploysGate(_Gate):
    __slots__ = ("_sources",)
    capability = "deploys"
    public = frozenset({"recent"})

    def __init__(self, backend: DeploysBackend, record: CallRecorder, sources: list[str]) -> None:
        super().__init__(backend, record)
        self._sources = sources

    def recent(
        self, *, service: str | None = None, hours: float = 6, source: str | None = None
    ) -> JSON:
        src = _pick(source, self._sources, "deploys source")
        backend: DeploysBackend = self._backend  # type: ignore[assignment]
        args = {"service": service, "hours": hours, "source": src}
        return self._call(
            "recent", args, lambda _key: backend.recent(source=src, service=service, hours=hours)
        )


class NotifyGate(_Gate):
    __slots__ = ("_channels",)
    capability = "notify"
    public = frozenset({"post"})

    def __init__(self, backend: NotifyBackend, record: CallRecorder, channels: list[str]) -> None:
        super().__init__(backend, record)
        self._channels = channels

    def post(
        self, channel: str, text: str, *, thread: str | None = None, hint: str | None = None
    ) -> JSON:
        """``hint`` names advice the platform appends at most once a day (for example
        ``"llm-not-configured"``), instead of the skill repeating it in every message."""
        _pick(channel, self._channels, "notify channel")
        backend: NotifyBackend = self._backend  # type: ignore[assignment]
        args: dict[str, JSON] = {"channel": channel, "text": text, "thread": thread}
        if hint is not None:  # only then: the other posts' records stay as they were
            args["hint"] = hint
        return self._call(
            "post",
            args,
            lambda key: backend.post(channel, text, thread=thread, dedupe_key=key, hint=hint),
        )


class LLMGate(_Gate):
    __slots__ = ("_grant", "_spent")
    capability = "llm"
    public = frozenset({"classify", "complete"})

    def __init__(self, backend: LLMBackend, record: CallRecorder, grant: LLMGrant) -> None:
        super().__init__(backend, record)
        self._grant = grant
        self._spent = 0.0

    def classify(self, text: str, *, labels: list[str], instructions: str | None = None) -> JSON:
        backend: LLMBackend = self._backend  # type: ignore[assignment]
        args = {"text": text, "labels": labels, "instructions": instructions}
        return self._spend(
            "classify",
            args,
            lambda budget: backend.classify(
                text, labels=labels, instructions=instructions, budget_usd=budget
            ),
        )

    def complete(self, prompt: str, *, system: str | None = None, max_tokens: int = 256) -> JSON:
        backend: LLMBackend = self._backend  # type: ignore[assignment]
        args = {"prompt": prompt, "system": system, "max_tokens": max_tokens}
        return self._spend(
            "complete",
            args,
            lambda budget: backend.complete(
                prompt, system=system, max_tokens=max_tokens, budget_usd=budget
            ),
        )

    def _spend(self, method: str, args: dict[str, JSON], call: Callable[[float], JSON]) -> JSON:
        remaining = self._grant.per_run_usd - self._spent
        if remaining <= 0:
            # Catchable on purpose (an LLMError): the skill falls back to its rules.
            raise LLMBudgetExceeded(
                f"the per-run LLM budget of ${self._grant.per_run_usd} is spent"
            )
        result = self._call(method, args, lambda _key: call(remaining))
        if isinstance(result, dict) and isinstance(result.get("usd"), int | float):
            self._spent += float(result["usd"])
        return result


class HttpGate(_Gate):
    __slots__ = ("_hosts",)
    capability = "http"
    public = frozenset({"get"})

    def __init__(self, backend: HttpBackend, record: CallRecorder, grant: HttpGrant) -> None:
        super().__init__(backend, record)
        self._hosts = frozenset(grant.hosts)

    def get(
        self, url: str, *, params: dict[str, str] | None = None, timeout_seconds: float = 10
    ) -> JSON:
        self._check_url(url)
        backend: HttpBackend = self._backend  # type: ignore[assignment]
        args = {"url": url, "params": params or {}, "timeout_seconds": timeout_seconds}
        return self._call(
            "get",
            args,
            lambda _key: backend.get(
                url, params=dict(params or {}), timeout_seconds=min(float(timeout_seconds), 30.0)
            ),
        )

    def _check_url(self, url: object) -> None:
        if not isinstance(url, str) or not url.isascii():
            raise CapabilityDenied("http.get needs an ASCII URL string")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http") or parts.username or parts.password:
            raise CapabilityDenied(f"{url!r}: only plain http(s) URLs without credentials")
        if parts.port not in (None, 80, 443) or parts.hostname not in self._hosts:
            raise CapabilityDenied(
                f"host {parts.netloc!r} is not granted; the manifest allows {sorted(self._hosts)}"
            )


class IncidentsGate(_Gate):
    """``ctx.capabilities.incidents``: the platform's incident lifecycle (docs/SKILLS.md)."""

    __slots__ = ("_services",)
    capability = "incidents"
    public = frozenset({"observe"})

    def __init__(self, backend: IncidentsBackend, record: CallRecorder, grant: IncidentsGrant):
        super().__init__(backend, record)
        self._services = list(grant.services)

    def observe(
        self,
        service: str,
        *,
        label: str,
        signals: list[str] | None = None,
        reason: str = "",
        onset: float | None = None,
        checked_at: float,
    ) -> JSON:
        if self._services and service not in self._services:
            raise CapabilityDenied(
                f"service {service!r} is not granted; the manifest allows {self._services}"
            )
        if label not in INCIDENT_LABELS:
            raise CapabilityError(f"label {label!r} is not one of {list(INCIDENT_LABELS)}")
        backend: IncidentsBackend = self._backend  # type: ignore[assignment]
        args: dict[str, JSON] = {
            "service": service,
            "label": label,
            "signals": list(signals or []),
            "reason": reason,
            "onset": checked_at if onset is None else onset,
            "checked_at": checked_at,
        }
        return self._call(
            "observe",
            args,
            lambda _key: backend.observe(
                service,
                label=label,
                signals=list(signals or []),
                reason=reason,
                onset=checked_at if onset is None else onset,
                checked_at=checked_at,
            ),
        )


INCIDENT_LABELS = ("normal", "degraded", "critical")


class LedgerGate(_Gate):
    """``ctx.capabilities.ledger``: cron schedules and run history, read only (docs/SKILLS.md)."""

    __slots__ = ("_skills",)
    capability = "ledger"
    public = frozenset({"cron_skills", "fires", "runs"})

    def __init__(self, backend: LedgerBackend, record: CallRecorder, grant: LedgerGrant):
        super().__init__(backend, record)
        self._skills = None if "*" in grant.skills else frozenset(grant.skills)

    def cron_skills(self) -> JSON:
        backend: LedgerBackend = self._backend  # type: ignore[assignment]
        found = self._call("cron_skills", {}, lambda _key: backend.cron_skills())
        if self._skills is None or not isinstance(found, list):
            return found
        return [s for s in found if isinstance(s, dict) and s.get("skill_id") in self._skills]

    def fires(self, skill: str, *, since: float, until: float, function: str | None = None) -> JSON:
        self._check_skill(skill)
        backend: LedgerBackend = self._backend  # type: ignore[assignment]
        args: dict[str, JSON] = {
            "skill": skill, "since": since, "until": until, "function": function
        }  # fmt: skip
        return self._call(
            "fires",
            args,
            lambda _key: backend.fires(skill, since=since, until=until, function=function),
        )

    def runs(
        self,
        skill: str,
        *,
        since: float,
        until: float,
        function: str | None = None,
        limit: int = 500,
    ) -> JSON:
        self._check_skill(skill)
        backend: LedgerBackend = self._backend  # type: ignore[assignment]
        args: dict[str, JSON] = {
            "skill": skill, "since": since, "until": until, "function": function, "limit": limit
        }  # fmt: skip
        return self._call(
            "runs",
            args,
            lambda _key: backend.runs(
                skill, since=since, until=until, function=function, limit=limit
            ),
        )

    def _check_skill(self, skill: object) -> None:
        if not isinstance(skill, str) or not skill:
            raise CapabilityError(f"ledger: name a skill id, not {skill!r}")
        if self._skills is not None and skill not in self._skills:
            raise CapabilityDenied(
                f"skill {skill!r} is not granted; the manifest allows {sorted(self._skills)}"
            )


class Capabilities(Exposed):
    """``ctx.capabilities``: exposes exactly the granted capabilities."""

    __slots__ = ("_gates",)

    def __init__(self, gates: dict[str, _Gate]) -> None:
        self._gates = gates

    def exposes(self, name: str) -> bool:
        return name in self._gates

    def denial(self, name: str) -> SkillViolation:
        return CapabilityDenied(
            f"capability {name!r} is not declared; add it to MANIFEST['capabilities']"
        )

    def __getattr__(self, name: str) -> _Gate:
        try:
            return self._gates[name]
        except KeyError:
            raise AttributeError(name) from None


def build_capabilities(
    grants: CapabilityGrants, backends: CapabilityBackends, record: CallRecorder
) -> Capabilities:
    """One gate per granted capability, each over its backend."""
    gates: dict[str, _Gate] = {}
    missing = [name for name in grants.granted() if getattr(backends, name) is None]
    if missing:
        raise ValueError(f"no backend for granted capabilities {missing}")
    if grants.metrics and backends.metrics:
        gates["metrics"] = MetricsGate(backends.metrics, record, grants.metrics.sources)
    if grants.deploys and backends.deploys:
        gates["deploys"] = DeploysGate(backends.deploys, record, grants.deploys.sources)
    if grants.notify and backends.notify:
        gates["notify"] = NotifyGate(backends.notify, record, grants.notify.channels)
    if grants.llm and backends.llm:
        gates["llm"] = LLMGate(backends.llm, record, grants.llm)
    if grants.http and backends.http:
        gates["http"] = HttpGate(backends.http, record, grants.http)
    if grants.incidents and backends.incidents:
        gates["incidents"] = IncidentsGate(backends.incidents, record, grants.incidents)
    if grants.ledger and backends.ledger:
        gates["ledger"] = LedgerGate(backends.ledger, record, grants.ledger)
    return Capabilities(gates)
