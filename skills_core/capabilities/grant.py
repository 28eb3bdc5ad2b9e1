"""What one skill may reach: the platform-side view of its manifest's ``capabilities``.

The sidecar validates the manifest (``sidecar/facade/grants.py`` is the schema skills are
checked against) and its in-worker gates refuse calls outside it. The platform checks again
here, because the worker runs code an agent wrote: a capability trusts only the ``Grant`` the
loopback API built from the *registered* manifest, never what the worker claims.

Names keep their manifest order, because ``source=None`` means "the first granted source".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from .errors import CapabilityDenied


class LLMBudget(pydantic.BaseModel):
    """Dollars a skill may spend on model calls, per run and per rolling week."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    per_run_usd: float = pydantic.Field(gt=0)
    per_week_usd: float = pydantic.Field(gt=0)


class Grant(pydantic.BaseModel):
    """One skill's allowance; every capability method takes it and refuses what is outside."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    skill_id: str = pydantic.Field(min_length=1, max_length=200)
    metrics_sources: tuple[str, ...] = ()
    deploy_sources: tuple[str, ...] = ()
    notify_channels: tuple[str, ...] = ()
    llm: LLMBudget | None = None
    http_hosts: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, skill_id: str, capabilities: Mapping[str, Any] | None) -> Grant:
        """Build from a manifest's ``capabilities`` dict (the shape documented in SKILLS.md)."""
        caps = dict(capabilities or {})
        llm = caps.get("llm")
        return cls(
            skill_id=skill_id,
            metrics_sources=tuple((caps.get("metrics") or {}).get("sources", ())),
            deploy_sources=tuple((caps.get("deploys") or {}).get("sources", ())),
            notify_channels=tuple((caps.get("notify") or {}).get("channels", ())),
            llm=LLMBudget(**llm) if llm else None,
            http_hosts=tuple((caps.get("http") or {}).get("hosts", ())),
        )

    def pick(self, kind: str, requested: str | None, allowed: Sequence[str]) -> str:
        """The granted name to use: ``requested``, or the first granted one when None."""
        if not allowed:
            raise CapabilityDenied(f"skill {self.skill_id!r} has no {kind} granted")
        if requested is None:
            return allowed[0]
        if requested not in allowed:
            raise CapabilityDenied(
                f"{kind} {requested!r} is not granted to skill {self.skill_id!r}; "
                f"its manifest allows {list(allowed)}"
            )
        return requested

    def metrics_source(self, requested: str | None) -> str:
        return self.pick("metrics source", requested, self.metrics_sources)

    def deploy_source(self, requested: str | None) -> str:
        return self.pick("deploys source", requested, self.deploy_sources)

    def notify_channel(self, requested: str) -> str:
        return self.pick("notify channel", requested, self.notify_channels)

    def llm_budget(self) -> LLMBudget:
        if self.llm is None:
            raise CapabilityDenied(f"skill {self.skill_id!r} has no LLM budget granted")
        return self.llm

    def http_host(self, host: str) -> str:
        return self.pick("http host", host, self.http_hosts)
