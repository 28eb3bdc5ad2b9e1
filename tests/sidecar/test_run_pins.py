"""Run pins in the platform store (SQLite and PostgreSQL): a run's first call pins the active
version; every later call, on this process, after a restart or on another replica, gets it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.store import Store, open_store
from sidecar.run_pins import Pin, RunPins
from tests.store_dialects import DIALECTS, fresh_store_url


@pytest.fixture(params=DIALECTS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_store_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


def test_the_first_call_pins_the_active_version_for_every_later_call(store: Store) -> None:
    pins = RunPins(store)
    assert pins.pin("run-1", "s", 3) == Pin(3, new=True)
    assert pins.pin("run-1", "s", 4) == Pin(3, new=False)  # version 4 went live meanwhile
    assert pins.pin("run-2", "s", 4) == Pin(4, new=True)  # a run started after it


def test_a_restarted_sidecar_or_another_replica_reads_the_same_pin(store_url: str) -> None:
    first = open_store(store_url)
    assert RunPins(first).pin("run-1", "s", 1) == Pin(1, new=True)
    first.close()  # the sidecar stops
    second = open_store(store_url)
    try:
        assert RunPins(second).pin("run-1", "s", 2) == Pin(1, new=False)
        # Two replicas taking a run's first call at once: the row that won answers both.
        a, b = RunPins(second), RunPins(second)
        assert a.pin("run-2", "s", 5) == Pin(5, new=True)
        assert b.pin("run-2", "s", 6) == Pin(5, new=False)
    finally:
        second.close()


def test_a_known_pin_is_answered_without_the_store(store_url: str) -> None:
    store = open_store(store_url)
    pins = RunPins(store)
    pins.pin("run-1", "s", 1)
    store.close()  # any access now fails
    assert pins.pin("run-1", "s", 2) == Pin(1, new=False)


def test_expired_pins_are_pruned(store: Store) -> None:
    pins = RunPins(store)
    pins.pin("run-1", "s", 1)
    assert pins.prune(older_than=time.time() - 60) == 0
    assert pins.prune(older_than=time.time() + 1) == 1
    assert RunPins(store).pin("run-1", "s", 2) == Pin(2, new=True)  # pinned again
