"""The seam between skill runs and the platform's capabilities.

A ``CapabilityProvider`` hands the sidecar the backends one skill's calls go to. The sidecar
wraps them in the facade's gates (``build_capabilities``), which enforce the *registered*
manifest's grant again on the sidecar's side — a worker's own gates are a convenience for
precise errors, not a boundary — and compute each call's idempotency key.

Backends raise the facade's ``skill.*`` errors (``sidecar.facade.errors``); anything else
reaches the skill as a plain ``CapabilityError``. The platform's real capabilities
(``skills_core/capabilities``, typed, with a ``Grant`` per skill) plug in here with a provider
that builds their ``Grant`` from ``skill_id`` and ``grants``.

Two providers ship here: ``LocalCapabilityProvider`` (the default: the local inbox works,
everything else answers "unavailable" so skills take their fallback paths) and
``FakeCapabilityProvider`` (the dry run's canned answers, for tests and demos).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sidecar.facade.capabilities import CapabilityBackends, NotifyBackend
from sidecar.facade.errors import (
    DeploysUnavailable,
    HttpFailed,
    LLMUnavailable,
    MetricsUnavailable,
    NotifyFailed,
)
from sidecar.facade.fakes import FakeCapabilities
from sidecar.facade.grants import CapabilityGrants
from sidecar.facade.payload import JSON

from .inbox import Inbox


class CapabilityProvider(Protocol):
    def backends(
        self, skill_id: str, grants: CapabilityGrants, run_id: str = ""
    ) -> CapabilityBackends: ...


class InboxNotify:
    """``notify`` backend: the ``inbox`` channel here, other channels to ``others`` if any."""

    def __init__(self, inbox: Inbox, skill_id: str, others: NotifyBackend | None = None) -> None:
        self._inbox = inbox
        self._skill_id = skill_id
        self._others = others

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        if channel == "inbox":
            return self._inbox.post(
                self._skill_id, text, thread=thread, dedupe_key=dedupe_key, hint=hint
            )
        if self._others is None:
            raise NotifyFailed(f"channel {channel!r} is not configured on this platform")
        return self._others.post(channel, text, thread=thread, dedupe_key=dedupe_key, hint=hint)


class _Unavailable:
    """Every method raises the capability's "unavailable" error."""

    error: type[Exception] = Exception
    name = ""

    def _fail(self) -> JSON:
        raise self.error(f"{self.name} is not configured on this platform")


class UnavailableMetrics(_Unavailable):
    error, name = MetricsUnavailable, "metrics"

    def query(self, promql: str, *, source: str) -> JSON:
        return self._fail()

    def query_range(self, promql: str, *, source: str, minutes: int, step_seconds: int) -> JSON:
        return self._fail()

    def host(self) -> JSON:
        return self._fail()


class UnavailableDeploys(_Unavailable):
    error, name = DeploysUnavailable, "deploys"

    def recent(self, *, source: str, service: str | None, hours: float) -> JSON:
        return self._fail()


class UnavailableLLM(_Unavailable):
    error, name = LLMUnavailable, "the LLM"

    def classify(
        self, text: str, *, labels: list[str], instructions: str | None, budget_usd: float
    ) -> JSON:
        return self._fail()

    def complete(
        self, prompt: str, *, system: str | None, max_tokens: int, budget_usd: float
    ) -> JSON:
        return self._fail()


class UnavailableHttp(_Unavailable):
    error, name = HttpFailed, "http"

    def get(self, url: str, *, params: dict[str, str], timeout_seconds: float) -> JSON:
        return self._fail()


class LocalCapabilityProvider:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def backends(
        self, skill_id: str, grants: CapabilityGrants, run_id: str = ""
    ) -> CapabilityBackends:
        return CapabilityBackends(
            metrics=UnavailableMetrics(),
            deploys=UnavailableDeploys(),
            notify=InboxNotify(self.inbox, skill_id),
            llm=UnavailableLLM(),
            http=UnavailableHttp(),
        )


class FakeCapabilityProvider:
    """The dry run's fakes; with ``inbox``, the inbox channel is real (end-to-end tests)."""

    def __init__(
        self,
        fixtures: Mapping[str, JSON] | None = None,
        faults: Mapping[str, str] | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.fakes = FakeCapabilities(fixtures, faults)
        self.inbox = inbox

    def backends(
        self, skill_id: str, grants: CapabilityGrants, run_id: str = ""
    ) -> CapabilityBackends:
        fake = self.fakes.backends()
        if self.inbox is None:
            return fake
        return CapabilityBackends(
            metrics=fake.metrics,
            deploys=fake.deploys,
            notify=InboxNotify(self.inbox, skill_id, others=fake.notify),
            llm=fake.llm,
            http=fake.http,
            incidents=fake.incidents,
            ledger=fake.ledger,
        )
