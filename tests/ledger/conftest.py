"""The ledger's suite runs against every store dialect (see tests/store_dialects.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.store import Store, open_store
from tests.store_dialects import DIALECTS, fresh_store_url


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with fresh_store_url(request.param, tmp_path) as url:
        s = open_store(url)
        try:
            yield s
        finally:
            s.close()
