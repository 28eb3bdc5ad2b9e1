"""The sidecar, assembled: every component wired once, and the operations the surfaces call.

    watcher ─▶ intake ─▶ lifecycle ─▶ registry        (what exists, what is live)
                           │  checker (validate_source on warm sandboxes)
                           │  approval policy
                           └▶ publisher ─▶ FunctionSet swap + sync with the engine
    engine ─▶ SkillsApp ─▶ Runner (pin version) ─▶ WorkerPool / Session ─▶ worker process

The HTTP API (``api.py``) and the CLI (through the API) are thin layers over ``Sidecar``;
nothing here imports FastAPI.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from typing import Any

import inngest

from loopwright.engine_client import EngineClient, EngineError, EngineTarget
from loopwright.ledger import LedgerReader
from loopwright.ledger.middleware import LedgerRecorder
from loopwright.ledger.retention import Retention, retention_days
from loopwright.replay_quiet_log import ReplayQuietLog
from loopwright.store import open_store
from skills_core.capabilities.incidents import IncidentStore, incident_policy
from skills_core.capabilities.ledger import LedgerView
from skills_core.capabilities.services import CapabilityServices
from skills_core.capabilities.settings import CapabilitySettings

from .app import SENTINEL_FN_ID, FunctionSet, PlatformFunction, SkillsApp
from .approval_notices import ApprovalNotices
from .capabilities import CapabilityProvider
from .capabilities.ledger import WithLedger, registry_schedules
from .capabilities.platform import PlatformCapabilityProvider
from .catalog import Catalog
from .checker import Checker, WarmSandboxes
from .core import read_core_skills
from .execution import Runner
from .files import is_skill_file, write_atomically
from .intake import Intake
from .isolation.launcher import launcher
from .lifecycle import Intent, Lifecycle, NotFound, Outcome, Refused, find_skill, find_version
from .metrics import SidecarMetrics
from .publisher import Publisher
from .registry import AUTHORS, Author, Registry, Skill, Version, VersionState
from .run_pins import RunPins
from .run_usage_store import StoredRunUsage
from .settings import SidecarSettings
from .shadowing import Shadows
from .sync import ClientSync, Syncer
from .validation import dry_run
from .validation.naming import SKILL_ID_PATTERN, stem_for_id
from .watcher import Watcher
from .workers import RunBudgets, WorkerPool
from .workers.lazy_request import parse_requests_lazily
from .workers.memos import parse_memos_lazily

log = logging.getLogger("loopwright.sidecar")


class Pending(TimeoutError):
    """The outcome did not arrive in time (the write is still being processed)."""


class Sidecar:
    def __init__(
        self, settings: SidecarSettings, *, provider: CapabilityProvider | None = None
    ) -> None:
        self.settings = settings
        self.store = open_store(settings.store)
        self.registry = Registry(self.store)
        # The platform's real capabilities by default, so `loopwright inbox` reads what skills
        # post; tests and demos pass a fake or local provider.
        self.incidents = IncidentStore(self.store, incident_policy())
        self.provider = provider or PlatformCapabilityProvider(
            CapabilityServices.build(CapabilitySettings.from_env()), self.incidents
        )
        self.ledger = LedgerRecorder(
            self.store,
            app_id=settings.app_id,
            usage=getattr(self.provider, "run_usage", None),
            ignore=frozenset({SENTINEL_FN_ID}),
        )
        self.engine = EngineClient(
            EngineTarget.from_env(url=settings.engine_url, signing_key=settings.signing_key)
        )
        # A call's memos are parsed when read, not all as the request arrives (``memos.py``,
        # ``lazy_request.py``).
        if not (parse_memos_lazily() and parse_requests_lazily()):
            log.warning(
                "this inngest SDK's internals are not the ones sidecar/workers/memos.py and "
                "lazy_request.py were written for: memos are parsed as each call arrives "
                "(slower on long runs)"
            )
        self.client = inngest.Inngest(
            app_id=settings.app_id,
            is_production=settings.signing_key is not None,
            signing_key=settings.signing_key,
            api_base_url=settings.engine_url,
            event_api_base_url=settings.engine_url,
            logger=logging.getLogger("loopwright.sidecar.sdk"),
            middleware=[self.ledger.middleware, ReplayQuietLog],
        )
        # Every process that runs skill code starts through this launcher: boxed by
        # bubblewrap + namespaces + seccomp, or — said at start-up and in `skills list` — not.
        self.launcher = launcher(settings.isolation)
        if not self.launcher.status.isolated:
            log.error(
                "%s; agent-written skills %s", self.launcher.status.detail,
                "are REFUSED (isolation.unisolated)" if self._refuses_unisolated()
                else "still run (development: isolation.unisolated allows it)",
            )  # fmt: skip
        self.pool = WorkerPool(
            settings.worker_limits,
            min_idle=settings.min_idle_workers,
            max_workers=settings.max_workers,
            launcher=self.launcher,
        )
        self.metrics = SidecarMetrics(self.registry, self.pool.stats)
        # Skills granted `ledger` read this sidecar's own registry and run ledger.
        ledger_view = LedgerView(
            lambda skill: registry_schedules(self.registry, skill), LedgerReader(self.store)
        )
        # Written behind (``close`` writes what is pending).
        self.run_usage = StoredRunUsage(self.store)
        self.runner = Runner(
            self.registry,
            self.pool,
            WithLedger(
                self.provider, ledger_view, lambda: frozenset(c.skill_id for c in self.core)
            ),
            app_id=settings.app_id,
            metrics=self.metrics,
            refusal=self.isolation_refusal,
            # Kept in the platform store: a restart must not hand running runs a new budget.
            budgets=RunBudgets(settings.run_limits, self.run_usage),
            pins=RunPins(self.store),
        )
        #: Trusted functions of the platform itself (review.surfaces.attach adds the review's).
        self.platform_functions: list[PlatformFunction] = []
        self.app = SkillsApp(self._function_set(Catalog()))
        self.publisher = Publisher(self.registry, self.app, self._function_set, self._syncer())
        self.warm = (
            WarmSandboxes(settings.warm_sandboxes, self.launcher)
            if settings.warm_sandboxes
            else None
        )
        self.core = (
            read_core_skills(
                settings.core_dir, demo=settings.demo, constants=settings.core_constants
            )
            if settings.core_dir
            else []
        )
        core_fn_ids = {f: c.skill_id for c in self.core for f in c.function_ids}
        self.checker = Checker(
            self.registry,
            reserved_function_ids=(
                settings.reserved_function_ids | {SENTINEL_FN_ID} | frozenset(core_fn_ids)
            ),
            reserved_for=core_fn_ids,
            warm=self.warm,
            launcher=self.launcher,
            refusal=self.isolation_refusal,
        )
        self.lifecycle = Lifecycle(
            self.registry, self.checker, settings.approval, self.publisher, settings.skills_dir,
            core_ids=frozenset(c.skill_id for c in self.core),
            notices=ApprovalNotices(self.provider),
        )  # fmt: skip
        self.shadows = Shadows(self.registry, self.checker, self.publisher)
        self.intake = Intake(self.lifecycle, settings.skills_dir)
        self.watcher = Watcher(
            settings.skills_dir,
            self.intake.changed,
            step_ms=settings.watch_step_ms,
            debounce_ms=settings.watch_debounce_ms,
        )
        self._stop = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None
        self.retention = Retention(
            self.ledger.writer, retention_days(settings.ledger_retention_days)
        )
        self._prune: asyncio.Task[None] | None = None

    def _refuses_unisolated(self) -> bool:
        return self.settings.isolation.refuses_unisolated(self.settings.production)

    def isolation_refusal(self, skill_id: str) -> str | None:
        """Why this skill's code may not run here, or None (core skills always may)."""
        if self.launcher.status.isolated or not self._refuses_unisolated():
            return None
        if skill_id in {c.skill_id for c in self.core}:
            return None
        return f"agent-written skills are refused here: {self.launcher.status.detail}"

    def isolation(self) -> dict[str, Any]:
        """What `skills list` and `/v1/status` show about worker isolation."""
        return {
            **self.launcher.status.to_json(),
            "agent_skills": (
                "run isolated" if self.launcher.status.isolated
                else "refused" if self._refuses_unisolated()
                else "run UNISOLATED (development)"
            ),
        }  # fmt: skip

    def _function_set(self, catalog: Catalog) -> FunctionSet:
        return FunctionSet(
            self.client, catalog, self.runner, self.settings.serve_path,
            platform=[self.ledger.listener, *self.platform_functions],
        )  # fmt: skip

    def _syncer(self) -> Syncer:
        s = self.settings
        return ClientSync(self.engine, s.serve_url, put=s.sync_mode == "put")

    # --- life ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Sync what the registry says is live, then watch the folder (and read it once)."""
        self.settings.skills_dir.mkdir(parents=True, exist_ok=True)
        result = await self.publisher.publish_until_synced()
        if not result.ok:
            log.error("initial sync failed: %s", result.error)
        await self.load_core()
        await self.lifecycle.announce_waiting()
        loop = asyncio.get_running_loop()
        self._watch = loop.create_task(self.watcher.run(self._stop))
        self._prune = loop.create_task(self.retention.run(self._stop))
        self.rescan()

    async def load_core(self) -> list[Outcome]:
        """Load the core skills (before the folder, so their ids are taken first)."""
        outcomes = []
        for core in self.core:
            outcome = await self.lifecycle.accept_core(core.skill_id, core.filename, core.source)
            log.info("core skill %s: v%s %s", core.skill_id, outcome.version, outcome.state)
            outcomes.append(outcome)
        return outcomes

    def rescan(self) -> None:
        """Look at every file, and at every live skill whose file may be gone."""
        directory = self.settings.skills_dir
        for path in sorted(directory.iterdir()):
            if path.is_file() and is_skill_file(path.name):
                self.intake.changed(path.resolve())
        for skill in self.registry.skills():
            if skill.id in self.lifecycle.core_ids:
                continue  # not a file in the folder: its absence is not a deletion
            if not skill.removed and not (directory / skill.filename).exists():
                self.intake.changed((directory / skill.filename).resolve())

    async def close(self) -> None:
        self._stop.set()
        running = [t for t in (self._watch, self._prune) if t is not None]
        await asyncio.gather(*running, return_exceptions=True)
        await self.intake.idle()
        await self.publisher.syncer.aclose()
        self.pool.close()
        if self.warm is not None:
            self.warm.close()
        # The ledger's queued step records and the runs' pending usage are committed before
        # the store goes.
        await asyncio.to_thread(self.ledger.close)
        await asyncio.to_thread(self.run_usage.close)
        self.store.close()
        self.registry.close()

    # --- reads --------------------------------------------------------------------------

    def list_skills(self) -> list[dict[str, Any]]:
        return [self._summary(s) for s in self.registry.skills()]

    def show(self, skill_id: str) -> dict[str, Any]:
        skill = self._skill(skill_id)
        return {
            **self._summary(skill),
            "versions": [v.metadata() for v in self.registry.versions(skill_id)],
            "audit": [e.to_json() for e in self.registry.audit(skill_id, limit=50)],
        }

    def version(self, skill_id: str, number: int) -> dict[str, Any]:
        return self._version(skill_id, number).to_json()

    def diff(self, skill_id: str, start: int | None, end: int | None) -> str:
        skill = self._skill(skill_id)
        new = self._version(skill_id, end if end is not None else skill.latest_version)
        base = start if start is not None else (new.parent or new.number - 1)
        old_source = self._version(skill_id, base).source if base >= 1 else ""
        lines = difflib.unified_diff(
            old_source.splitlines(keepends=True),
            new.source.splitlines(keepends=True),
            fromfile=f"{new.filename}@v{base}",
            tofile=f"{new.filename}@v{new.number}",
        )
        return "".join(lines)

    def status(self) -> dict[str, Any]:
        last = self.publisher.last
        return {
            "app_id": self.settings.app_id,
            "serve_url": self.settings.serve_url,
            "engine_url": self.settings.engine_url,
            "sync": last.to_json() if last else None,
            "synced_at": self.publisher.last_at,
            "workers": self.pool.stats(),
            "isolation": self.isolation(),
            "invalid_files": dict(self.intake.invalid_files),
            "approval_policy": self.settings.approval.to_json(),
            "core_skills": [c.skill_id for c in self.core],
            "demo": self.settings.demo,
        }

    # --- changes ------------------------------------------------------------------------

    async def submit(self, skill_id: str, source: str, author: str, reason: str) -> Outcome:
        """Write a new version as any writer would (atomically into the folder); await it."""
        if not SKILL_ID_PATTERN.match(skill_id):
            raise ValueError(f"skill id {skill_id!r} must match {SKILL_ID_PATTERN.pattern}")
        if author not in AUTHORS:
            raise ValueError(f"author must be one of {list(AUTHORS)}")
        intent = Intent(author=_author(author), reason=reason or "submitted through the API")
        future = self.intake.expect(skill_id, source, intent)
        path = self.settings.skills_dir / f"{stem_for_id(skill_id)}.py"
        try:
            write_atomically(path, source)
            return await asyncio.wait_for(
                asyncio.shield(future), timeout=self.settings.outcome_timeout_s
            )
        except TimeoutError:
            raise Pending(f"{skill_id}: still processing; see GET /v1/skills/{skill_id}") from None
        finally:
            self.intake.forget(skill_id, source, future)

    async def approve(self, skill_id: str, number: int | None, by: str) -> Outcome:
        return await self.lifecycle.approve(skill_id, number, by=by)

    async def reject(
        self, skill_id: str, number: int | None, by: str, reason: str | None
    ) -> Outcome:
        return await self.lifecycle.reject(skill_id, number, by=by, reason=reason)

    async def rollback(self, skill_id: str, number: int, by: str) -> Outcome:
        return await self.lifecycle.rollback(skill_id, number, by=by)

    async def pause(self, skill_id: str, by: str) -> Outcome:
        return await self.lifecycle.set_paused(skill_id, True, by=by)

    async def resume(self, skill_id: str, by: str) -> Outcome:
        return await self.lifecycle.set_paused(skill_id, False, by=by)

    async def validate(self, source: str, filename: str) -> dict[str, Any]:
        """Validate without registering anything (the agent's pre-flight check)."""
        skill_id = filename.rsplit("/", 1)[-1].removesuffix(".py").replace("_", "-")
        report = await asyncio.to_thread(self.checker.check, skill_id, source, filename)
        return report.to_dict()

    async def test(
        self,
        skill_id: str,
        fn_id: str,
        event: dict[str, Any] | None,
        mode: str,
        wait_s: float = 30.0,
    ) -> dict[str, Any]:
        """One dry run (sandbox, fake capabilities) or one real run through the engine."""
        skill = self._skill(skill_id)
        if mode == "dry":
            version = self._runnable_version(skill)
            taken = self.registry.taken_function_ids(except_skill=skill_id)
            result = await asyncio.to_thread(
                dry_run, version.source, version.filename, fn_id, event,
                existing_function_ids=taken,
            )  # fmt: skip
            return {"mode": "dry", "version": version.number, **result.model_dump(mode="json")}
        if mode != "real":
            raise ValueError("mode is 'dry' or 'real'")
        return await self._real_run(skill, fn_id, event or {}, wait_s)

    async def _real_run(
        self, skill: Skill, fn_id: str, event: dict[str, Any], wait_s: float
    ) -> dict[str, Any]:
        entry = self.app.current.catalog.entry(fn_id)
        if entry is None or entry.skill_id != skill.id or not entry.registered:
            raise Refused(f"{fn_id!r} is not a live function of {skill.id!r}")
        slug = f"{self.settings.app_id}-{fn_id}"
        try:
            event_id = await asyncio.to_thread(self.engine.invoke, slug, event.get("data") or {})
            run = await asyncio.to_thread(self.engine.wait_for_run, event_id, wait_s)
            if run is None:
                raise Pending(f"no run of {fn_id!r} finished within {wait_s}s")
            steps = (
                await asyncio.to_thread(self.engine.steps, str(run["run_id"]))
                if self.engine.embedded
                else None  # real Inngest shows step timelines in its own dashboard
            )
        except EngineError as err:
            raise Refused(f"the engine refused the invocation: {err}") from None
        return {"mode": "real", "event_id": event_id, "run": run, "steps": steps}

    # --- helpers ------------------------------------------------------------------------

    def _summary(self, skill: Skill) -> dict[str, Any]:
        versions = self.registry.versions(skill.id)
        latest = versions[-1] if versions else None
        active = next((v for v in versions if v.number == skill.active_version), None)
        return {
            **skill.to_json(),
            "state": _skill_state(skill, latest),
            "latest_state": latest.state.value if latest else None,
            "latest_note": latest.note if latest else None,
            "awaiting_approval": [
                v.number for v in versions if v.state is VersionState.AWAITING_APPROVAL
            ],
            "function_ids": list(active.function_ids) if active else [],
        }

    def _skill(self, skill_id: str) -> Skill:
        return find_skill(self.registry, skill_id)

    def _version(self, skill_id: str, number: int) -> Version:
        return find_version(self.registry, skill_id, number)

    def _runnable_version(self, skill: Skill) -> Version:
        """The active version, else the latest valid one (to dry-run before approving)."""
        if skill.active_version is not None:
            return self.registry.version(skill.id, skill.active_version)
        valid = [v for v in self.registry.versions(skill.id) if v.report and v.report.get("ok")]
        if not valid:
            raise Refused(f"{skill.id!r} has no valid version")
        return valid[-1]


def _skill_state(skill: Skill, latest: Version | None) -> str:
    if skill.removed:
        return "removed"
    if skill.active_version is None:
        return latest.state.value if latest else "empty"
    return "paused" if skill.paused else "active"


def _author(value: str) -> Author:
    for author in AUTHORS:
        if author == value:
            return author
    raise ValueError(f"author must be one of {list(AUTHORS)}")


__all__ = ["NotFound", "Pending", "Refused", "Sidecar"]
