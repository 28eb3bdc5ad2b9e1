"""Fixtures: one real engine for the session; one sidecar (own app id, folder, registry) per
test module, running in a background thread with the dry-run fakes as capabilities and a
real inbox. A module may set ``SIDECAR_SETTINGS = {...}`` to override settings."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.capabilities import CapabilityProvider, FakeCapabilityProvider, Inbox
from sidecar.server import running
from sidecar.settings import SidecarSettings
from sidecar.workers import WorkerLimits

from ._engine import free_port, running_engine
from ._harness import Harness


@pytest.fixture(scope="session")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_engine(tmp_path_factory.mktemp("engine")) as url:
        yield url


def settings_for(work: Path, engine_url: str, app_id: str, **overrides: object) -> SidecarSettings:
    base = SidecarSettings(
        skills_dir=work / "skills",
        db=work / "sidecar.db",
        inbox=work / "inbox.jsonl",
        engine_url=engine_url,
        port=free_port(),
        app_id=app_id,
        worker_limits=WorkerLimits(job_cpu_seconds=5, wall_seconds=20),
        warm_sandboxes=1,
        outcome_timeout_s=60,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def harness(
    request: pytest.FixtureRequest, engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    work = tmp_path_factory.mktemp(name)
    overrides = getattr(request.module, "SIDECAR_SETTINGS", {})
    settings = settings_for(work, engine_url, f"lw-{name.replace('_', '-')}", **overrides)
    with running_harness(settings, engine_url) as harness:
        yield harness


@contextlib.contextmanager
def running_harness(
    settings: SidecarSettings, engine_url: str, provider: CapabilityProvider | None = None
) -> Iterator[Harness]:
    """A sidecar with these settings, running in a thread, and a harness to drive it (with the
    dry run's fakes and a real local inbox, unless ``provider`` is given)."""
    inbox = Inbox(settings.inbox)
    with running(settings, provider=provider or FakeCapabilityProvider(inbox=inbox)) as sidecar:
        harness = Harness(sidecar, engine_url, inbox)
        try:
            yield harness
        finally:
            harness.close()
