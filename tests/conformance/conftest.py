"""Session fixtures for the conformance suite: one real engine process for the whole session.

When a test fails, the engine log written while it ran is attached to the report (section
"engine log"), so a failure shows what the engine said about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._engine import EngineAPI, EngineProcess, running_engine

_ENGINE: EngineProcess | None = None
_LOG_OFFSET = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    global _ENGINE
    with running_engine(tmp_path_factory.mktemp("engine")) as proc:
        _ENGINE = proc
        try:
            yield proc
        finally:
            _ENGINE = None


@pytest.fixture(scope="session")
def engine_api(engine: EngineProcess) -> Iterator[EngineAPI]:
    api = EngineAPI(engine.url)
    try:
        yield api
    finally:
        api.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_LOG_OFFSET] = _ENGINE.log_size() if _ENGINE else 0
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _ENGINE is not None:
        since = item.stash.get(_LOG_OFFSET, 0)
        report.sections.append(("engine log", _ENGINE.log_text(since) or "(empty)"))
