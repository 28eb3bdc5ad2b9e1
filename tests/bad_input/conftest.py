"""An in-process engine on a real loopback port, for fast bad-input tests.

Runs in the test's event loop (aiohttp `TestServer`), with a fresh SQLite file per test
module, so a test can also look at the engine's state after the fact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from engine.api import build_app
from engine.config import EngineConfig
from engine.core import Engine


class Client:
    def __init__(self, base: str, session: aiohttp.ClientSession, engine: Engine) -> None:
        self.base, self.session, self.engine = base, session, engine

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        json: object = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, object]:
        async with self.session.request(
            method, self.base + path, data=body, json=json, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                return resp.status, await resp.json(content_type=None)
            except ValueError:
                return resp.status, text


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    engine = Engine(EngineConfig(db_path=tmp_path / "engine.db", retry_backoff="1s"))
    server = TestServer(build_app(engine), host="127.0.0.1")
    await server.start_server()
    await engine.start()
    async with aiohttp.ClientSession() as session:
        yield Client(str(server.make_url("")).rstrip("/"), session, engine)
    await server.close()
    await engine.stop()
