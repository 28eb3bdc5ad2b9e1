"""A fresh demo fleet per test: incidents change shared state, so tests never share one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from skills_core.demo import Fleet

from .readings import _C, Closing


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet(deploy_log=tmp_path / "deploys.jsonl", seed=11) as running:
        yield running


@pytest.fixture
def closing() -> Iterator[Closing]:
    """Close what a test builds (HTTP clients hold sockets) when the test ends."""
    with contextlib.ExitStack() as stack:

        def register(service: _C) -> _C:
            stack.callback(service.close)
            return service

        yield register
