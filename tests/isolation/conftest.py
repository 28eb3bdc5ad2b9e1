"""Fixtures for the isolation tests: a raw-capable zygote, witnesses that record effects."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from .raw_worker import RawLauncher


@pytest.fixture(scope="package")
def raw() -> Iterator[RawLauncher]:
    launcher = RawLauncher()
    try:
        yield launcher
    finally:
        launcher.close()


class Listener:
    """A TCP server on every host address (like the engine's port) that records connections."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class DatagramSink:
    """A UDP socket on loopback (a stand-in DNS server) that records every datagram."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data, _peer = self.sock.recvfrom(65536)
            except OSError:
                return
            self.datagrams.append(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    # The witness works: a connection from the host is recorded.
    socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    wait_for(lambda: len(server.connections) == 1)
    server.connections.clear()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def sink() -> Iterator[DatagramSink]:
    server = DatagramSink()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.sendto(b"probe", ("127.0.0.1", server.port))
    probe.close()
    wait_for(lambda: server.datagrams == [b"probe"])
    server.datagrams.clear()
    try:
        yield server
    finally:
        server.close()


VICTIM_SECRET = "victim-secret-7f3a9c"


@pytest.fixture
def victim() -> Iterator[psutil.Process]:
    """A host process holding a secret in its environment (like the sidecar's signing key)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env={"PATH": "/usr/bin:/bin", "LOOPWRIGHT_SIGNING_KEY": VICTIM_SECRET},
    )
    # Popen returns once the exec's close-on-exec pipe closes, which the kernel does before the
    # new image's environment is in place: /proc/PID/environ can still read empty for a moment.
    environ = Path(f"/proc/{proc.pid}/environ")
    try:
        wait_for(lambda: VICTIM_SECRET in environ.read_text(errors="replace"))
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def wait_for(condition: object, seconds: float = 30.0) -> None:
    """Poll until ``condition()`` holds (bounded; not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.05)


def host_addresses() -> list[str]:
    return [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET
    ]
