from __future__ import annotations

from pathlib import Path

import pytest

from tests.review._standin_ledger import install

install()  # until the lead's loopwright.store / loopwright.ledger land on main


@pytest.fixture
def history(tmp_path: Path):  # type: ignore[no-untyped-def]
    from loopwright.ledger import LedgerReader, LedgerWriter
    from loopwright.store import open_store

    from review import tables
    from review.tuning import Classifier
    from skills_core.capabilities.store import CapabilityStore
    from tests.review._history import HEALTH_SOURCE, History

    store = open_store(f"sqlite:///{tmp_path / 'platform.db'}")
    store.ensure(*tables.TABLES)
    caps_path = tmp_path / "capabilities.db"
    caps = CapabilityStore(caps_path)
    h = History(
        store,
        caps,
        caps_path,
        LedgerReader(store),
        LedgerWriter(store),
        Classifier(HEALTH_SOURCE, "health_check.py"),
    )
    yield h
    caps.close()
