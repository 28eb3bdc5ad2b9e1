"""How one SDK call of a skill function runs: find the run's version, then drive a worker.

Every sidecar function's handler is ``Runner.handle``. A run is pinned to the version active
when it made its first call (``run_pins.py``: kept in the platform store, answered from memory
after the first call), and every call of the run runs *that* version's code, so a new version,
a rollback or a removal never rewrites a run in flight. The code of every version stays in
the registry, so retired versions keep serving the runs pinned to them.

Runs started before the pin moved to the store carry it as the memo of a first step,
``loopwright-version``; that memo still wins when present.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import inngest

from loopwright.ledger import shadow_subject
from loopwright.ledger.middleware import annotate, label_step
from sidecar.capabilities import CapabilityProvider
from sidecar.capabilities.shadow import EffectLog
from sidecar.facade.capabilities import CapabilityCall, build_capabilities
from sidecar.facade.payload import JSON
from sidecar.facade.steps import PIN_STEP_ID
from sidecar.registry import Registry, Shadow, ShadowStore, Version
from sidecar.workers import Job, PoolExhausted, RunBudgets, Session, WorkerPool
from sidecar.workers.memos import has_memo

from .catalog import shadow_spec, skill_spec
from .metrics import SidecarMetrics
from .run_pins import RunPins

log = logging.getLogger("loopwright.sidecar.runs")

#: The id of the step that pinned a run's version before pins were kept in the store (runs
#: in flight may still carry its memo, ``{"skill": id, "version": n}``); reserved for it.
PIN_STEP = PIN_STEP_ID


@dataclasses.dataclass(frozen=True)
class Target:
    """What a served function runs: a skill function, pinned for new runs to ``version``."""

    skill_id: str
    fn_id: str
    version: int
    failure: bool = False
    #: The proposal whose candidate this runs as a shadow (None: the skill itself).
    shadow: str | None = None

    @property
    def subject(self) -> str:
        """The skill id the ledger and the capabilities know this run by."""
        return self.skill_id if self.shadow is None else shadow_subject(self.skill_id, self.shadow)


class Runner:
    def __init__(
        self,
        registry: Registry,
        pool: WorkerPool,
        provider: CapabilityProvider,
        *,
        app_id: str,
        metrics: SidecarMetrics | None = None,
        refusal: Callable[[str], str | None] | None = None,
        budgets: RunBudgets | None = None,
        pins: RunPins | None = None,
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.provider = provider
        self.app_id = app_id
        self.metrics = metrics
        #: Skill id → why its code may not run here (no isolation in production), else None.
        self.refusal = refusal
        self.budgets = budgets or RunBudgets()
        self.pins = pins
        self.shadows = ShadowStore(registry)
        #: A shadow's source and report never change: read once per proposal.
        self._shadows: dict[str, Shadow] = {}

    def handle(self, ctx: inngest.ContextSync, target: Target) -> JSON:
        annotate(skill_id=target.subject, skill_version=target.version)
        version = self._version(ctx, target)
        annotate(skill_id=target.subject, skill_version=version)
        try:
            return self.run(ctx, dataclasses.replace(target, version=version))
        except Exception:  # the SDK's step interrupts are BaseExceptions: not counted
            if self.metrics is not None and target.shadow is None:
                self.metrics.call_failed(target.skill_id)
            raise

    def _version(self, ctx: inngest.ContextSync, target: Target) -> int:
        """The version this run is pinned to (``target.version`` on its first call)."""
        if has_memo(ctx, PIN_STEP):  # a run started before pins moved to the store
            pin: JSON = ctx.step.run(PIN_STEP, _no_pin_memo)
            if isinstance(pin, dict) and pin.get("skill") == target.skill_id:
                number = pin.get("version")
                if isinstance(number, int) and not isinstance(number, bool):
                    return number
            return target.version
        if self.pins is None:  # no store (unit tests): every call runs the active version
            return target.version
        pinned = self.pins.pin(ctx.run_id, target.skill_id, target.version)
        if pinned.new:
            if self.metrics is not None and target.shadow is None:
                self.metrics.run_started(target.skill_id)
            if has_memo(ctx):
                log.warning(
                    "run %s of %s had no pin in the store (pruned or lost) though it has "
                    "steps done; it runs the active version %d from now on",
                    ctx.run_id, target.skill_id, pinned.version,
                )  # fmt: skip
        return pinned.version

    def run(self, ctx: inngest.ContextSync, target: Target) -> JSON:
        # A shadow runs under the policy its candidate would run under once promoted.
        refusal = self.refusal(target.skill_id) if self.refusal else None
        if refusal is not None:
            raise inngest.NonRetriableError(f"[sandbox-isolation-unavailable] {refusal}")
        job = self._job(target)
        effects = None
        try:
            backends = self.provider.backends(target.subject, job.manifest.capabilities, ctx.run_id)
            if target.shadow is not None:
                effects = EffectLog(self.shadows, target.shadow, ctx.run_id)
                backends = effects.replacing(backends)
            capabilities = build_capabilities(job.manifest.capabilities, backends, _record)
        except ValueError as err:
            raise inngest.NonRetriableError(f"[capability-denied] {err}") from None
        try:
            worker = self.pool.acquire(f"{target.subject}@{target.version}", ctx.run_id)
        except PoolExhausted as err:
            raise RuntimeError(f"no worker free: {err}") from None  # retried by the engine
        session = Session(
            worker,
            ctx,
            job,
            capabilities,
            cpu_seconds=self.pool.limits.job_cpu_seconds,
            budgets=self.budgets,
            effects=effects,
            label_step=label_step,
        )
        try:
            return session.run()
        finally:
            self.pool.release(worker, session.release_mode())

    def _job(self, target: Target) -> Job:
        """What to run: the pinned version's code, or the shadow's candidate."""
        code: Version | Shadow
        if target.shadow is not None:
            code = self._shadow(target.shadow)
            manifest = shadow_spec(code).manifest
        else:
            code = self.registry.code(target.skill_id, target.version)
            try:
                manifest = skill_spec(code).manifest
            except ValueError as err:
                raise inngest.NonRetriableError(str(err)) from None
        return Job(
            skill_id=target.skill_id,
            version=target.version,
            content_hash=code.content_hash,
            filename=code.filename,
            source=code.source,
            fn_id=target.fn_id,
            failure=target.failure,
            manifest=manifest,
            app_id=self.app_id,
        )

    def _shadow(self, proposal_id: str) -> Shadow:
        shadow = self._shadows.get(proposal_id) or self.shadows.get(proposal_id)
        if shadow is None:
            raise inngest.NonRetriableError(f"no shadow of proposal {proposal_id!r} is stored")
        self._shadows[proposal_id] = shadow
        return shadow


def _no_pin_memo() -> JSON:
    # ``has_memo`` saw the memo, so the SDK returns it and never calls this.
    raise RuntimeError("the version pin's memo vanished")


def _record(call: CapabilityCall) -> None:
    log.debug("capability %s.%s in step %s: %s", call.capability, call.method, call.step_id,
              call.error or "ok")  # fmt: skip
