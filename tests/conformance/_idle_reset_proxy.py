"""A loopback TCP proxy that plays a server closing idle keep-alive connections.

A real server (uvicorn: 5 s) closes a connection that sat idle; when that close crosses the
client's next request on the wire, the client sees a reset or a disconnect although its
request never reached the app. Timing that race on a real server is luck, so this proxy makes
it certain: a request that arrives on a connection idle for longer than `idle_s` (after at
least one earlier exchange) is answered with a TCP reset, and never forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator


class IdleResetProxy:
    def __init__(self, upstream_port: int, idle_s: float) -> None:
        self.upstream_port, self.idle_s = upstream_port, idle_s
        self.resets = 0  # requests refused on an idle connection (never forwarded)
        self.forwarded = 0  # reads passed on to the app
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs: pending tasks outlive GC

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[IdleResetProxy]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        await self._stop.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        this = asyncio.current_task()
        assert this is not None
        self._tasks.add(this)
        this.add_done_callback(self._tasks.discard)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        last_answer = [0.0]  # monotonic time of the last byte sent back; 0: none yet

        async def answers() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
                last_answer[0] = time.monotonic()
            writer.close()

        pump = asyncio.create_task(answers())
        self._tasks.add(pump)
        pump.add_done_callback(self._tasks.discard)
        try:
            while data := await reader.read(65536):
                idle = time.monotonic() - last_answer[0]
                if last_answer[0] and idle > self.idle_s:
                    self.resets += 1
                    _reset(writer)
                    return
                self.forwarded += 1
                up_writer.write(data)
                await up_writer.drain()
        except OSError:
            pass
        finally:
            pump.cancel()
            up_writer.close()
            with contextlib.suppress(OSError):
                writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a server that already dropped the connection does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
