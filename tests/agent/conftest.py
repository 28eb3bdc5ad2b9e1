"""Agent tests: no model request may leave the machine.

``agent.llm.ALLOW_MODEL_REQUESTS`` is off for the whole suite, so only loopback endpoints
(the scripted servers) can be reached; agent subprocesses get the same switch through
``LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import agent.llm

os.environ["LOOPWRIGHT_ALLOW_MODEL_REQUESTS"] = "0"


@pytest.fixture(autouse=True, scope="session")
def _block_model_requests() -> Iterator[None]:
    previous = agent.llm.ALLOW_MODEL_REQUESTS
    agent.llm.ALLOW_MODEL_REQUESTS = False
    yield
    agent.llm.ALLOW_MODEL_REQUESTS = previous
