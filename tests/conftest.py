"""Shared pytest configuration for the whole test tree.

No model request may leave the machine: the platform's one kill switch is off for the whole
suite (only loopback endpoints — scripted servers, a local model — can be reached), and every
subprocess a test starts inherits ``LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0``. Suite-specific
fixtures live next to their suite (tests/conformance/conftest.py starts the engine and apps).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["LOOPWRIGHT_ALLOW_MODEL_REQUESTS"] = "0"

from skills_core.capabilities.llm import kill_switch


@pytest.fixture(autouse=True, scope="session")
def _block_paid_model_requests() -> Iterator[None]:
    previous = kill_switch.ALLOW_MODEL_REQUESTS
    kill_switch.ALLOW_MODEL_REQUESTS = False
    yield
    kill_switch.ALLOW_MODEL_REQUESTS = previous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run last: Playwright's sync API keeps an event loop running in the
    main thread from the first browser test to the end of the session."""
    browser = [i for i in items if "chromium" in getattr(i, "fixturenames", ())]
    if browser:
        rest = [i for i in items if "chromium" not in getattr(i, "fixturenames", ())]
        items[:] = rest + browser
