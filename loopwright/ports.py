"""Who holds a loopback port: `loopwright up` and `loopwright doctor` say it exactly."""

from __future__ import annotations

import dataclasses
import errno
import socket

import psutil


@dataclasses.dataclass(frozen=True)
class PortHolder:
    port: int
    pid: int | None
    command: str

    def describe(self) -> str:
        if self.pid is None:
            return f"port {self.port} is in use by a process we cannot see (another user's?)"
        return f"port {self.port} is held by pid {self.pid} ({self.command})"


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def holder(port: int) -> PortHolder | None:
    """The process listening on ``port``, or None when the port is free."""
    if is_free(port):
        return None
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        connections = []
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return PortHolder(port, conn.pid, command_of(conn.pid))
    return PortHolder(port, None, "")


def command_of(pid: int | None) -> str:
    if pid is None:
        return ""
    try:
        argv = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."
