"""The ``ledger`` capability on a sidecar: schedules from its registry, runs from its ledger.

The ledger and the registry are the sidecar's own, so this backend serves every run the
sidecar executes, whichever provider serves the other capabilities (``with_ledger``): a dry
run keeps the fake (``sidecar/facade/fakes.py``). ``*`` in a grant reads every skill and is
honoured for core skills only: a generated skill must name the skills it reads, and its
approval says which (``sidecar/approval.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sidecar.facade import errors as facade_errors
from sidecar.facade.capabilities import CapabilityBackends
from sidecar.facade.grants import CapabilityGrants, LedgerGrant
from sidecar.facade.payload import JSON
from sidecar.registry import Registry
from skills_core.capabilities.ledger import CronSchedule, LedgerView, WindowError

from .provider import CapabilityProvider


def registry_schedules(registry: Registry, skill_id: str | None = None) -> list[CronSchedule]:
    """Every cron function of every skill (or of ``skill_id``) with an active version, paused
    or not."""
    from sidecar.catalog import skill_spec
    from sidecar.validation.declarations import CronTriggerSpec

    found = []
    one = registry.skill(skill_id) if skill_id is not None else None
    skills = registry.skills() if skill_id is None else [one] if one else []
    for skill in skills:
        if skill.removed or skill.active_version is None:
            continue
        version = registry.version(skill.id, skill.active_version)
        for fn in skill_spec(version).functions:
            for trigger in fn.triggers:
                if isinstance(trigger, CronTriggerSpec):
                    found.append(
                        CronSchedule(
                            skill.id, fn.fn_id, trigger.cron, skill.paused, version.activated_at
                        )
                    )
    return found


class PlatformLedger:
    """One skill's ``ledger`` backend: the grant checked again, the view's errors translated."""

    def __init__(self, view: LedgerView, skill_id: str, grant: LedgerGrant, core: bool) -> None:
        self.view, self.skill_id = view, skill_id
        self.every = "*" in grant.skills
        self.core = core
        self.skills = None if self.every else frozenset(grant.skills)

    def cron_skills(self) -> JSON:
        self._check(None)
        found = self.view.cron_skills()
        return [s for s in found if self.skills is None or s["skill_id"] in self.skills]

    def fires(self, skill: str, *, since: float, until: float, function: str | None) -> JSON:
        self._check(skill)
        return _answered(lambda: self.view.fires(skill, since, until, function))

    def runs(
        self, skill: str, *, since: float, until: float, function: str | None, limit: int
    ) -> JSON:
        self._check(skill)
        return _answered(lambda: self.view.runs(skill, since, until, function, limit))

    def _check(self, skill: str | None) -> None:
        if self.every and not self.core:
            raise facade_errors.CapabilityDenied(
                f"{self.skill_id}: only core skills may read every skill's runs (ledger "
                "skills ['*']); name the skills it reads"
            )
        if skill is not None and self.skills is not None and skill not in self.skills:
            raise facade_errors.CapabilityDenied(
                f"skill {skill!r} is not granted to {self.skill_id}; it may read "
                f"{sorted(self.skills)}"
            )


def _answered(call: Callable[[], Any]) -> JSON:
    try:
        return call()  # type: ignore[no-any-return]
    except WindowError as exc:  # the same call fails again: no retries
        raise facade_errors.CapabilityRefused(f"ledger: {exc}") from None


class WithLedger:
    """A provider whose runs read this sidecar's ledger; everything else from ``inner``."""

    def __init__(
        self, inner: CapabilityProvider, view: LedgerView, core_ids: Callable[[], frozenset[str]]
    ) -> None:
        self.inner, self.view, self.core_ids = inner, view, core_ids

    def backends(
        self, skill_id: str, grants: CapabilityGrants, run_id: str = ""
    ) -> CapabilityBackends:
        backends = self.inner.backends(skill_id, grants, run_id)
        if grants.ledger is None:
            return backends
        core = skill_id in self.core_ids()
        ledger = PlatformLedger(self.view, skill_id, grants.ledger, core)
        return dataclasses.replace(backends, ledger=ledger)

    def __getattr__(self, name: str) -> Any:  # run_usage, inbox...: the inner provider's
        return getattr(self.inner, name)
