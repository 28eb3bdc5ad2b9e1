from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _history(folder: Path) -> Any:
    from loopwright.store import open_store
    from review.tuning import Classifier
    from skills_core.capabilities.store import CapabilityStore
    from tests.review._history import HEALTH_SOURCE, History

    store = open_store(f"sqlite:///{folder / 'platform.db'}")
    store.ensure()
    caps_path = folder / "capabilities.db"
    caps = CapabilityStore(caps_path)
    classifier = Classifier(HEALTH_SOURCE, "health_check.py")
    return History(store, caps, caps_path, classifier)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Four weeks of health-check history, seeded once and copied for each test."""
    from tests.review._history import seed_four_weeks

    folder = tmp_path_factory.mktemp("seeded")
    h = _history(folder)
    counts = seed_four_weeks(h)
    h.caps.close()
    h.store.engine.dispose() if hasattr(h.store, "engine") else None
    return folder, counts


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Any]:
    h = _history(tmp_path)
    yield h
    h.caps.close()


@pytest.fixture
def seeded(tmp_path: Path, seeded_template: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    folder, counts = seeded_template
    for path in folder.iterdir():  # the databases and any WAL files beside them
        shutil.copy(path, tmp_path / path.name)
    h = _history(tmp_path)
    h.seq = 10_000
    h.counts = counts
    yield h
    h.caps.close()
