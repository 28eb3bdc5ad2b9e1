"""Start, stop and list shadows: a review candidate running beside a skill's active version.

    POST   /v1/shadows {skill_id, proposal_id, source, by}
       ─▶ the candidate is validated like any version (``Checker``: a failure is refused
          with its report, nothing is stored or registered)
       ─▶ its functions that the active version also has get shadow ids and the active
          functions' triggers (``catalog.shadow_entries``)
       ─▶ published like a version: the function set with the shadow is synced, and only
          once the engine took it is the shadow stored (``Publisher``, ``registry/shadows.py``)
    DELETE /v1/shadows/{proposal_id}  ─▶ unregistered the same way (served for runs in flight)

Idempotent by proposal id: starting a running shadow again answers the one that runs, which
is how a review that resumes after a crash avoids a second one. A stopped shadow is not
started again (a new candidate is a new proposal).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .catalog import skill_spec
from .checker import Checker
from .lifecycle import NotFound, Refused, content_hash, find_skill
from .publisher import Publisher
from .registry import Registry, Shadow, ShadowFunction, ShadowStore, shadow_fn_id
from .registry.shadows import PROPOSAL_ID_PATTERN, RUNNING
from .validation import SkillSpec


class InvalidCandidate(Refused):
    """The candidate failed validation; ``report`` says where."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


class Shadows:
    def __init__(self, registry: Registry, checker: Checker, publisher: Publisher) -> None:
        self.registry = registry
        self.store = ShadowStore(registry)
        self.checker = checker
        self.publisher = publisher

    def listed(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.store.listed()]

    def show(self, proposal_id: str) -> dict[str, Any]:
        shadow = self._get(proposal_id)
        return {**shadow.to_json(), "effects": self.store.effects(proposal_id)}

    async def start(self, skill_id: str, proposal_id: str, source: str, by: str) -> dict[str, Any]:
        if not PROPOSAL_ID_PATTERN.match(proposal_id):
            raise ValueError(
                f"proposal id {proposal_id!r} must match {PROPOSAL_ID_PATTERN.pattern}"
            )
        existing = self.store.get(proposal_id)
        if existing is not None:
            return {"started": False, "shadow": self._again(existing, skill_id)}
        skill = find_skill(self.registry, skill_id)
        if skill.active_version is None or skill.paused or skill.removed:
            raise Refused(f"{skill_id!r} has no live active version to shadow")
        active = self.registry.code(skill_id, skill.active_version)
        report = await asyncio.to_thread(self.checker.check, skill_id, source, active.filename)
        if not report.ok:
            raise InvalidCandidate(
                f"the candidate for {skill_id!r} failed validation; nothing was started",
                report.to_dict(),
            )
        data = report.to_dict()
        shadow = Shadow(
            proposal_id=proposal_id,
            skill_id=skill_id,
            base_version=active.number,
            filename=active.filename,
            content_hash=content_hash(source),
            functions=self._functions(skill_id, skill_spec(active), data, proposal_id),
            state=RUNNING,
            started_by=by,
            created_at=time.time(),
            stopped_at=None,
            stop_reason=None,
            source=source,
            report=data,
        )
        result = await self.publisher.publish(lambda: self.store.add(shadow))
        if not result.ok:
            raise Refused(f"the engine did not take the shadow's functions: {result.error}")
        return {"started": True, "shadow": self._get(proposal_id).to_json()}

    async def stop(self, proposal_id: str, reason: str) -> dict[str, Any]:
        shadow = self._get(proposal_id)
        if shadow.running:
            result = await self.publisher.publish(lambda: self.store.stop(proposal_id, reason))
            if not result.ok:
                raise Refused(f"the engine did not take the change: {result.error}")
        return self._get(proposal_id).to_json()

    def _get(self, proposal_id: str) -> Shadow:
        shadow = self.store.get(proposal_id)
        if shadow is None:
            raise NotFound(f"no shadow for proposal {proposal_id!r}")
        return shadow

    def _again(self, shadow: Shadow, skill_id: str) -> dict[str, Any]:
        if shadow.skill_id != skill_id:
            raise Refused(
                f"proposal {shadow.proposal_id!r} already shadows {shadow.skill_id!r}, "
                f"not {skill_id!r}"
            )
        if not shadow.running:
            raise Refused(
                f"the shadow of {shadow.proposal_id!r} was stopped ({shadow.stop_reason}); "
                "a stopped shadow is not started again: propose a new candidate"
            )
        return shadow.to_json()

    def _functions(
        self, skill_id: str, active: SkillSpec, report: dict[str, Any], proposal_id: str
    ) -> tuple[ShadowFunction, ...]:
        candidate = SkillSpec.model_validate(report["skill"])
        shared = [
            f.fn_id for f in candidate.functions if f.fn_id in {a.fn_id for a in active.functions}
        ]
        if not shared:
            raise Refused(
                f"no function of the candidate has a function id of {skill_id!r}'s active "
                "version: there is nothing to run it beside"
            )
        pairs = tuple(ShadowFunction(fn, shadow_fn_id(fn, proposal_id)) for fn in shared)
        taken = self.registry.taken_function_ids(except_skill="") | {
            f.shadow_fn_id for s in self.store.listed() for f in s.functions
        }
        clash = sorted(p.shadow_fn_id for p in pairs if p.shadow_fn_id in taken)
        if clash:
            raise Refused(f"shadow function ids {clash} are taken; nothing was started")
        return pairs


__all__ = ["InvalidCandidate", "Shadows"]
