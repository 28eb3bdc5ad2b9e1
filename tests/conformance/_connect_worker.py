"""An SDK app connected to the engine by Inngest Connect (`inngest.connect`), not served over HTTP.

The SDK runs user functions on the loop that called `start()` and its socket on a thread of its
own; here that loop lives on a thread of the test process, so a test can start, stop and restart
a worker around what it checks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import inngest
from inngest.connect import ConnectionState, connect

from ._harness import poll


class ConnectWorker:
    def __init__(
        self,
        apps: list[tuple[inngest.Inngest, list[inngest.Function[Any]]]],
        *,
        max_worker_concurrency: int | None = None,
    ) -> None:
        self._apps = apps
        self._max = max_worker_concurrency
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> ConnectWorker:
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._conn = connect(self._apps, shutdown_signals=[], max_worker_concurrency=self._max)
            ready.set()
            await self._conn.start()

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # surfaced by the test through .error
                self.error = exc
                ready.set()

        self._thread = threading.Thread(target=run, name="connect-worker", daemon=True)
        self._thread.start()
        ready.wait(timeout)
        poll(
            lambda: self.error or self.state == ConnectionState.ACTIVE,
            timeout=timeout,
            what="the connect worker to be ACTIVE",
        )
        assert self.error is None, self.error
        return self

    @property
    def state(self) -> ConnectionState | None:
        return self._conn.get_state() if self._conn is not None else None

    @property
    def connection_id(self) -> str:
        return str(self._conn.get_connection_id())

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is None or self._conn is None or self._thread is None:
            return
        # RuntimeError: the loop already ended; CancelledError: it ended as the close was awaited
        with contextlib.suppress(RuntimeError, concurrent.futures.CancelledError):
            asyncio.run_coroutine_threadsafe(self._conn.close(wait=True), self._loop).result(
                timeout
            )
        self._thread.join(timeout)

    @contextlib.contextmanager
    def running(self) -> Iterator[ConnectWorker]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
