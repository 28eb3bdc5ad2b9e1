"""Side effects of a shadow run, recorded instead of done (docs/REVIEW.md "Shadow").

A candidate running beside the active version reads what the active version reads (metrics,
deploys, HTTP GETs, the ledger: the real backends) and calls the real LLM, charged to the
shadow's own budget (its backends are built for the shadow's ledger subject, so the per-run
and per-week budgets are its own). What would change the world is recorded in the registry's
``registry_shadow_effects`` and answered as if it had happened:

* ``notify.post``: recorded; nothing reaches the inbox, Slack or any channel;
* ``incidents.observe``: recorded; the incident store is not touched, and the answer is the
  dry run's (a fresh platform: every non-normal check opens an incident), so the candidate
  walks the path that posts and emits;
* events (``ctx.step.send_event``) and invocations (``ctx.step.invoke``): recorded by the
  session (``workers/session.py``) in a step of their own; nothing is sent, nothing invoked
  (an invocation answers ``None``, the timeout answer every skill handles).

Each effect is keyed by run, step and call number, so a retried step records it once.
"""

from __future__ import annotations

import dataclasses

from sidecar.facade import scope
from sidecar.facade.capabilities import CapabilityBackends
from sidecar.facade.fakes import FakeCapabilities, FakeIncidents
from sidecar.facade.payload import JSON
from sidecar.registry import ShadowStore


@dataclasses.dataclass(frozen=True)
class EffectLog:
    """Where one shadow run's effects go."""

    store: ShadowStore
    proposal_id: str
    run_id: str

    def record(self, capability: str, method: str, key: str, args: JSON) -> None:
        self.store.record_effect(self.proposal_id, key, self.run_id, capability, method, args)

    def events(self, step_id: str, events: list[JSON]) -> list[str]:
        self.record("events", "send", f"{self.run_id}:{step_id}:send_event", events)
        return [f"shadow-{self.run_id}-{step_id}-{i}" for i in range(len(events))]

    def invoke(self, step_id: str, function_id: str, data: JSON) -> None:
        args = {"function_id": function_id, "data": data}
        self.record("functions", "invoke", f"{self.run_id}:{step_id}:invoke", args)

    def call_key(self, what: str) -> str:
        step = scope.current_step()
        return step.next_call_key(what) if step else f"{self.run_id}:outside-step:{what}"

    def replacing(self, backends: CapabilityBackends) -> CapabilityBackends:
        """``backends`` with every writing capability replaced by this log's recorders."""
        return dataclasses.replace(
            backends, notify=RecordedNotify(self), incidents=RecordedIncidents(self)
        )


class RecordedNotify:
    def __init__(self, log: EffectLog) -> None:
        self.log = log

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        args: JSON = {"channel": channel, "text": text, "thread": thread, "hint": hint}
        self.log.record("notify", "post", dedupe_key, args)
        return {"id": f"shadow:{dedupe_key}", "channel": channel, "shadow": True}


class RecordedIncidents:
    def __init__(self, log: EffectLog) -> None:
        self.log = log
        self.answers = FakeIncidents(FakeCapabilities())

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
        args: JSON = {
            "service": service, "label": label, "signals": list(signals), "reason": reason,
            "onset": onset, "checked_at": checked_at,
        }  # fmt: skip
        self.log.record("incidents", "observe", self.log.call_key("incidents.observe"), args)
        return self.answers.observe(
            service, label=label, signals=signals, reason=reason, onset=onset,
            checked_at=checked_at,
        )  # fmt: skip
