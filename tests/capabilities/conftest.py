"""Fixtures for the capability tests: real servers on loopback, no paid model ever.

The kill switch is off for the whole suite (tests/conftest.py), so only the scripted
OpenAI-compatible server (on loopback) can answer model calls. Prometheus is the real Debian binary scraping the demo
fleet; when it is missing the tests fail (not skip) and say how to install it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from skills_core.capabilities import CapabilityStore
from skills_core.capabilities.scripted_llm import ScriptedLLM
from skills_core.capabilities.scripted_slack import ScriptedSlack
from skills_core.demo import Fleet, PrometheusMissing, PrometheusServer
from tests.store_dialects import DIALECTS, fresh_store_url

from .factories import _C, Closing
from .scripted_http import ScriptedHttp


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    log = tmp_path_factory.mktemp("fleet") / "deploys.jsonl"
    with Fleet(deploy_log=log, seed=7, control_port=None) as running:
        yield running


@pytest.fixture(scope="session")
def prometheus(
    fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    server = PrometheusServer(fleet.targets, storage_dir=tmp_path_factory.mktemp("prometheus"))
    try:
        server.start()
    except PrometheusMissing as err:
        pytest.fail(str(err), pytrace=False)
    try:
        server.wait_for_scrapes(samples=3)
        yield server
    finally:
        server.stop()


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CapabilityStore]:
    """The capabilities' tables on a fresh store of each dialect (SQLite, PostgreSQL)."""
    with fresh_store_url(request.param, tmp_path, "capabilities.db") as url:
        opened = CapabilityStore(url)
        try:
            yield opened
        finally:
            opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CapabilityStore]:
    """One SQLite store, for tests whose subject is not the store (and that must run once)."""
    opened = CapabilityStore(tmp_path / "capabilities.db")
    yield opened
    opened.close()


@pytest.fixture
def slack() -> Iterator[ScriptedSlack]:
    with ScriptedSlack() as server:
        yield server


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[ScriptedHttp]:
    with ScriptedHttp() as server:
        yield server


@pytest.fixture
def closing() -> Iterator[Closing]:
    """Close what a test builds (HTTP clients hold sockets) when the test ends."""
    with contextlib.ExitStack() as stack:

        def register(service: _C) -> _C:
            stack.callback(service.close)
            return service

        yield register
