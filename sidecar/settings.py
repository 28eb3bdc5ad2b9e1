"""The sidecar's configuration: built once (by the CLI or a test), validated, frozen, passed down."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from loopwright.store import STORE_URL_ENV, store_url

from .approval import ApprovalPolicy
from .isolation.config import IsolationSettings
from .workers import RunLimits, WorkerLimits

SyncMode = Literal["engine", "put"]


@dataclasses.dataclass(frozen=True)
class SidecarSettings:
    #: The watched folder of skill files.
    skills_dir: Path = Path("skills_generated")
    #: Where the sidecar's data lives when no store URL is set: the platform store is then
    #: ``platform.db`` beside this path (the registry used to be this file; it is not read).
    db: Path = Path("var/sidecar.db")
    #: The platform store (registry, run ledger, run budgets, ...): a SQLAlchemy URL. None:
    #: $LOOPWRIGHT_STORE_URL, else ``platform.db`` beside ``db``.
    store_url: str | None = None
    #: How long the run ledger keeps runs (days); None: $LOOPWRIGHT_LEDGER_RETENTION_DAYS or 90.
    ledger_retention_days: float | None = None
    #: The local inbox (JSON lines) behind the ``notify`` channel ``inbox``.
    inbox: Path = Path("var/inbox.jsonl")
    #: The engine (embedded, Dev Server or Cloud API origin).
    engine_url: str = "http://127.0.0.1:8288"
    #: Where the sidecar listens: the HTTP API and the SDK serve path, on loopback.
    host: str = "127.0.0.1"
    port: int = 8290
    app_id: str = "loopwright-skills"
    serve_path: str = "/api/inngest"
    #: ``engine``: POST {engine}/v1/apps/sync; ``put``: PUT our own serve URL (real Inngest).
    sync_mode: SyncMode = "engine"
    #: Cloud mode (signed requests). Only the sidecar process holds it, never a worker.
    signing_key: str | None = None
    approval: ApprovalPolicy = dataclasses.field(default_factory=ApprovalPolicy)
    worker_limits: WorkerLimits = dataclasses.field(default_factory=WorkerLimits)
    #: How workers and dry runs are boxed, and whether agent-written skills run where they
    #: cannot be (``unisolated``: allow / refuse / auto = refuse when ``signing_key`` is set).
    isolation: IsolationSettings = dataclasses.field(default_factory=IsolationSettings)
    #: Per-run budgets (steps, wall time and CPU across calls, events) and event rates.
    run_limits: RunLimits = dataclasses.field(default_factory=RunLimits)
    min_idle_workers: int = 1
    max_workers: int = 4
    #: Validation sandboxes started ahead of time (0: start one per validation).
    warm_sandboxes: int = 2
    watch_step_ms: int = 5
    watch_debounce_ms: int = 50
    #: Function ids no skill may take (the core skills' are added to these).
    reserved_function_ids: frozenset[str] = frozenset()
    #: The core skills (``skills_core/skills/``; the CLI's default), loaded through the same
    #: validation as generated skills, pre-approved and never written into ``skills_dir``.
    #: None: no core skills (what most tests want).
    core_dir: Path | None = None
    #: Constants the deployment's configuration sets in core skills (skill id → {NAME: value};
    #: ``loopwright.config.core_constants``): signals in its metric names, services to watch.
    core_constants: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    #: Demo mode: the core skills' demo variants (health-check every minute).
    demo: bool = False
    #: How long ``POST /v1/skills/{id}/versions`` waits for the outcome.
    outcome_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.serve_path.startswith("/"):
            raise ValueError("serve_path must start with '/'")
        if self.sync_mode not in ("engine", "put"):
            raise ValueError("sync_mode is 'engine' or 'put'")
        if not 0 < self.port < 65536:
            raise ValueError("port must be between 1 and 65535")

    @property
    def store(self) -> str:
        return store_url(
            self.store_url or os.environ.get(STORE_URL_ENV) or self.db.parent / "platform.db"
        )

    @property
    def production(self) -> bool:
        """Production mode: requests are signed (Cloud or self-hosted Inngest)."""
        return self.signing_key is not None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def serve_url(self) -> str:
        return f"{self.origin}{self.serve_path}"
