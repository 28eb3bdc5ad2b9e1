"""How one SDK call of a skill function runs: pin the version, then drive a worker.

Every sidecar function's handler is ``Runner.handle``. Its first step is
``ctx.step.run("loopwright-version", ...)``, whose output — the version active when the run
started — is memoized by the engine like any step. Every later call of that run reads the memo
and runs *that* version's code, so a new version, a rollback or a removal never rewrites a run
in flight. The code of every version stays in the registry, so retired versions keep serving
the runs pinned to them.
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
from sidecar.registry import Registry, Shadow, ShadowStore, Version
from sidecar.workers import Job, PoolExhausted, RunBudgets, Session, WorkerPool

from .catalog import shadow_spec, skill_spec
from .metrics import SidecarMetrics

log = logging.getLogger("loopwright.sidecar.runs")

#: The id of the first step of every skill run: the version the run is pinned to.
PIN_STEP = "loopwright-version"


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
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.provider = provider
        self.app_id = app_id
        self.metrics = metrics
        #: Skill id → why its code may not run here (no isolation in production), else None.
        self.refusal = refusal
        self.budgets = budgets or RunBudgets()
        self.shadows = ShadowStore(registry)
        #: A shadow's source and report never change: read once per proposal.
        self._shadows: dict[str, Shadow] = {}

    def handle(self, ctx: inngest.ContextSync, target: Target) -> JSON:
        annotate(skill_id=target.subject, skill_version=target.version)

        def pin_version() -> JSON:
            # Runs once per run (later calls read the memo): the run has started.
            if self.metrics is not None and target.shadow is None:
                self.metrics.run_started(target.skill_id)
            pinned_to: dict[str, JSON] = {"skill": target.skill_id, "version": target.version}
            return pinned_to if target.shadow is None else {**pinned_to, "shadow": target.shadow}

        pin: JSON = ctx.step.run(PIN_STEP, pin_version)
        pinned = pin.get("version") if isinstance(pin, dict) else None
        version = pinned if isinstance(pinned, int) else target.version
        annotate(skill_id=target.subject, skill_version=version)
        try:
            return self.run(ctx, dataclasses.replace(target, version=version))
        except Exception:  # the SDK's step interrupts are BaseExceptions: not counted
            if self.metrics is not None and target.shadow is None:
                self.metrics.call_failed(target.skill_id)
            raise

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
            worker = self.pool.acquire(f"{target.subject}@{target.version}")
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


def _record(call: CapabilityCall) -> None:
    log.debug("capability %s.%s in step %s: %s", call.capability, call.method, call.step_id,
              call.error or "ok")  # fmt: skip
