"""Which valid versions go live on their own, and which wait for a person.

The safe default: a skill that only *reads* (metrics, deploys) and writes to the local inbox,
spending no more LLM money than a small default budget, goes live as soon as it validates.
Anything that reaches people or systems outside the platform waits for a person's approval:

* posting to a channel other than ``inbox`` (Slack reaches humans, in the company's name);
* HTTP to any host (data can leave the machine);
* an LLM budget above ``max_llm_per_run_usd`` / ``max_llm_per_week_usd`` (money);
* sending events or invoking functions (they can start other skills' runs).

Every version is judged on its own manifest: a new version of an approved Slack-posting skill
waits again, because its code changed even if its grants did not. The policy is configurable
(``ApprovalPolicy.from_json``, the sidecar's ``--approval-policy`` file); ``always_ask``
makes every version wait.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from sidecar.validation import Manifest

#: Default LLM budget a skill may spend without a person's approval (USD).
DEFAULT_LLM_PER_RUN_USD = 0.05
DEFAULT_LLM_PER_WEEK_USD = 1.0


@dataclasses.dataclass(frozen=True)
class ApprovalDecision:
    needs_approval: bool
    #: One line per grant that needs a person (empty when the version may go live alone).
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"needs_approval": self.needs_approval, "reasons": list(self.reasons)}


@dataclasses.dataclass(frozen=True)
class ApprovalPolicy:
    #: Notification channels a skill may post to without approval.
    auto_notify_channels: frozenset[str] = frozenset({"inbox"})
    #: HTTP hosts a skill may call without approval (none by default).
    auto_http_hosts: frozenset[str] = frozenset()
    max_llm_per_run_usd: float = DEFAULT_LLM_PER_RUN_USD
    max_llm_per_week_usd: float = DEFAULT_LLM_PER_WEEK_USD
    #: Whether sending events / invoking functions may go live without approval.
    auto_emits: bool = False
    auto_invokes: bool = False
    #: Event names of other namespaces (``emit_grants``) a skill may send without approval
    #: (none by default: sending another app's events always waits for a person).
    auto_emit_grants: frozenset[str] = frozenset()
    #: Every version waits for a person.
    always_ask: bool = False

    def decide(self, manifest: Manifest) -> ApprovalDecision:
        reasons: list[str] = []
        if self.always_ask:
            reasons.append("the policy asks a person to approve every version")
        caps = manifest.capabilities
        if caps.notify:
            outside = sorted(set(caps.notify.channels) - self.auto_notify_channels)
            if outside:
                reasons.append(f"posts to notification channels {outside}")
        if caps.http:
            hosts = sorted(set(caps.http.hosts) - self.auto_http_hosts)
            if hosts:
                reasons.append(f"calls HTTP hosts {hosts}")
        if caps.llm:
            if caps.llm.per_run_usd > self.max_llm_per_run_usd:
                reasons.append(
                    f"LLM budget ${caps.llm.per_run_usd}/run exceeds the default "
                    f"${self.max_llm_per_run_usd}/run"
                )
            if caps.llm.per_week_usd > self.max_llm_per_week_usd:
                reasons.append(
                    f"LLM budget ${caps.llm.per_week_usd}/week exceeds the default "
                    f"${self.max_llm_per_week_usd}/week"
                )
        if caps.incidents:
            reasons.append("tracks incidents (it can open and resolve them)")
        if caps.ledger:
            read = "every skill" if "*" in caps.ledger.skills else sorted(caps.ledger.skills)
            reasons.append(f"reads the run history and schedules of {read}")
        foreign = sorted(set(manifest.emit_grants) - self.auto_emit_grants)
        if foreign:
            reasons.append(f"sends events of other namespaces (emit_grants) {foreign}")
        if manifest.emits and not self.auto_emits:
            reasons.append(f"sends events {sorted(manifest.emits)}")
        if manifest.invokes and not self.auto_invokes:
            reasons.append(f"invokes functions {sorted(manifest.invokes)}")
        return ApprovalDecision(needs_approval=bool(reasons), reasons=tuple(reasons))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApprovalPolicy:
        """Build from a JSON object with the field names above; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown approval policy keys {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = dict(data)
        for key in ("auto_notify_channels", "auto_http_hosts", "auto_emit_grants"):
            if key in values:
                values[key] = frozenset(values[key])
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> ApprovalPolicy:
        return cls.from_json(json.loads(path.read_text()))

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["auto_notify_channels"] = sorted(self.auto_notify_channels)
        out["auto_http_hosts"] = sorted(self.auto_http_hosts)
        out["auto_emit_grants"] = sorted(self.auto_emit_grants)
        return out
