"""The platform's real capabilities (``skills_core.capabilities``) behind the provider seam.

Each run gets backends bound to the skill's ``Grant`` (built from the *registered* manifest,
never from the worker) and to the run id, which the LLM budget ledger charges. Platform
errors cross into skill code as the facade's ``skill.*`` errors named by their
``skill_error``, so a skill catches ``skill.LLMError`` or ``skill.MetricsUnavailable`` the
same way in a dry run and in production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pydantic

from loopwright.ledger import Usage
from sidecar.facade import errors as facade_errors
from sidecar.facade.capabilities import CapabilityBackends
from sidecar.facade.grants import CapabilityGrants
from sidecar.facade.payload import JSON
from skills_core.capabilities.errors import CapabilityError as PlatformError
from skills_core.capabilities.grant import Grant
from skills_core.capabilities.incidents import IncidentStore, Observation
from skills_core.capabilities.llm.messages import ClassifyRequest, CompleteRequest
from skills_core.capabilities.notify.messages import MAX_TEXT, PostRequest
from skills_core.capabilities.services import CapabilityServices

T = TypeVar("T")


def _json(value: Any) -> JSON:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")  # type: ignore[no-any-return]
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value  # type: ignore[no-any-return]


def _translated(call: Callable[[], T]) -> T:
    try:
        return call()
    except PlatformError as exc:
        if exc.skill_error == "CapabilityDenied":  # a contract violation: skills cannot catch it
            raise facade_errors.CapabilityDenied(str(exc)) from None
        cls = getattr(facade_errors, exc.skill_error, facade_errors.CapabilityError)
        if not (isinstance(cls, type) and issubclass(cls, facade_errors.CapabilityError)):
            cls = facade_errors.CapabilityError
        raise cls(str(exc)) from None
    except pydantic.ValidationError as exc:
        # The same arguments will be refused again: fail without retries.
        raise facade_errors.CapabilityRefused(f"invalid capability call: {exc}") from None


class _Bound:
    def __init__(self, services: CapabilityServices, grant: Grant, run_id: str) -> None:
        self.services, self.grant, self.run_id = services, grant, run_id


class PlatformMetrics(_Bound):
    def query(self, promql: str, *, source: str) -> JSON:
        return _translated(
            lambda: _json(self.services.metrics.query(self.grant, promql, source=source))
        )

    def query_range(self, promql: str, *, source: str, minutes: int, step_seconds: int) -> JSON:
        return _translated(
            lambda: _json(
                self.services.metrics.query_range(
                    self.grant, promql, minutes=minutes, step_seconds=step_seconds, source=source
                )
            )
        )

    def host(self) -> JSON:
        return _translated(lambda: _json(self.services.metrics.host(self.grant)))


class PlatformDeploys(_Bound):
    def recent(self, *, source: str, service: str | None, hours: float) -> JSON:
        return _translated(
            lambda: _json(
                self.services.deploys.recent(
                    self.grant, service=service, hours=hours, source=source
                )
            )
        )


class PlatformNotify(_Bound):
    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        if len(text) > MAX_TEXT:
            raise facade_errors.CapabilityRefused(
                f"notify text is {_size(text)}; the limit is {MAX_TEXT:,} characters "
                "(post a summary, or split it into several posts)"
            )

        def post() -> JSON:
            request = PostRequest(
                channel=channel,
                text=text,
                thread_key=thread,
                dedupe_key=dedupe_key,
                run_id=self.run_id or None,
                hint=hint,
            )
            return _json(self.services.notify.post(self.grant, request))

        return _translated(post)


def _size(text: str) -> str:
    size = len(text.encode("utf-8"))
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{len(text):,} characters"


class PlatformLLM(_Bound):
    """Budgets are enforced by the platform's durable ledger (per run and per week)."""

    def classify(
        self, text: str, *, labels: list[str], instructions: str | None, budget_usd: float
    ) -> JSON:
        request = ClassifyRequest(text=text, labels=labels, instructions=instructions)
        return _translated(
            lambda: _json(self.services.llm.classify(self.grant, self.run_id, request))
        )

    def complete(
        self, prompt: str, *, system: str | None, max_tokens: int, budget_usd: float
    ) -> JSON:
        request = CompleteRequest(prompt=prompt, system=system, max_tokens=max_tokens)
        return _translated(
            lambda: _json(self.services.llm.complete(self.grant, self.run_id, request))
        )


class PlatformHttp(_Bound):
    def get(self, url: str, *, params: dict[str, str], timeout_seconds: float) -> JSON:
        return _translated(
            lambda: _json(
                self.services.http.get(self.grant, url, params=params, timeout_s=timeout_seconds)
            )
        )


class PlatformIncidents:
    """``incidents`` backend: the platform's incident store (docs/CORE_SKILLS.md)."""

    def __init__(self, incidents: IncidentStore | None) -> None:
        self.incidents = incidents

    def observe(
        self,
        service: str,
        *,
        label: str,
        signals: list[str],
        reason: str,
        onset: float,
        checked_at: float,
    ) -> JSON:
        if self.incidents is None:
            raise facade_errors.CapabilityError(
                "incidents: no incident store on this platform (the sidecar opens one)"
            )
        seen = Observation(
            service=service,
            label=label,
            signals=tuple(signals),
            reason=reason[:500],
            onset=onset,
            checked_at=checked_at,
        )
        return _json(self.incidents.observe(seen))


class PlatformCapabilityProvider:
    def __init__(
        self, services: CapabilityServices, incidents: IncidentStore | None = None
    ) -> None:
        self.services = services
        self.incidents = incidents

    def run_usage(self, run_id: str) -> Usage:
        """The LLM calls a run made, for its ledger record."""
        spent = self.services.llm.ledger.spent_by_run(run_id)
        return Usage(spent.calls, spent.input_tokens, spent.output_tokens, spent.usd)

    def backends(
        self, skill_id: str, grants: CapabilityGrants, run_id: str = ""
    ) -> CapabilityBackends:
        grant = Grant.from_manifest(skill_id, grants.model_dump(exclude_none=True))
        bound = (self.services, grant, run_id)
        return CapabilityBackends(
            metrics=PlatformMetrics(*bound),
            deploys=PlatformDeploys(*bound),
            notify=PlatformNotify(*bound),
            llm=PlatformLLM(*bound),
            http=PlatformHttp(*bound),
            incidents=PlatformIncidents(self.incidents),
        )
