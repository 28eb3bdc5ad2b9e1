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

import inngest

from loopwright.ledger.middleware import annotate
from sidecar.capabilities import CapabilityProvider
from sidecar.facade.capabilities import CapabilityCall, build_capabilities
from sidecar.facade.payload import JSON
from sidecar.registry import Registry
from sidecar.workers import Job, PoolExhausted, Session, WorkerPool

from .catalog import skill_spec

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


class Runner:
    def __init__(
        self,
        registry: Registry,
        pool: WorkerPool,
        provider: CapabilityProvider,
        *,
        app_id: str,
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.provider = provider
        self.app_id = app_id

    def handle(self, ctx: inngest.ContextSync, target: Target) -> JSON:
        annotate(skill_id=target.skill_id, skill_version=target.version)
        pin: JSON = ctx.step.run(
            PIN_STEP, lambda: {"skill": target.skill_id, "version": target.version}
        )
        pinned = pin.get("version") if isinstance(pin, dict) else None
        version = pinned if isinstance(pinned, int) else target.version
        annotate(skill_id=target.skill_id, skill_version=version)
        return self.run(ctx, dataclasses.replace(target, version=version))

    def run(self, ctx: inngest.ContextSync, target: Target) -> JSON:
        job = self._job(target)
        try:
            capabilities = build_capabilities(
                job.manifest.capabilities,
                self.provider.backends(target.skill_id, job.manifest.capabilities, ctx.run_id),
                _record,
            )
        except ValueError as err:
            raise inngest.NonRetriableError(f"[capability-denied] {err}") from None
        try:
            worker = self.pool.acquire()
        except PoolExhausted as err:
            raise RuntimeError(f"no worker free: {err}") from None  # retried by the engine
        session = Session(
            worker, ctx, job, capabilities, cpu_seconds=self.pool.limits.job_cpu_seconds
        )
        try:
            return session.run()
        finally:
            self.pool.release(worker, session.release_mode())

    def _job(self, target: Target) -> Job:
        version = self.registry.code(target.skill_id, target.version)
        try:
            spec = skill_spec(version)
        except ValueError as err:
            raise inngest.NonRetriableError(str(err)) from None
        return Job(
            skill_id=target.skill_id,
            version=target.version,
            content_hash=version.content_hash,
            filename=version.filename,
            source=version.source,
            fn_id=target.fn_id,
            failure=target.failure,
            manifest=spec.manifest,
            app_id=self.app_id,
        )


def _record(call: CapabilityCall) -> None:
    log.debug("capability %s.%s in step %s: %s", call.capability, call.method, call.step_id,
              call.error or "ok")  # fmt: skip
