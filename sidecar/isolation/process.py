"""A worker forked by the zygote, with the part of ``subprocess.Popen``'s surface we use.

The sidecar holds the three pipes; the zygote owns the process and reports its exit status,
which arrives here through ``exited``. ``returncode`` follows ``Popen``: negative when a
signal killed the worker (SIGXCPU from the CPU limit, SIGSYS from the seccomp filter,
SIGKILL from a deadline).
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO


class IsolatedProcess:
    def __init__(
        self,
        ns_pid: int,
        stdin: IO[bytes] | None,
        stdout: IO[bytes] | None,
        stderr: IO[bytes] | None,
        kill: Callable[[int], None],
    ) -> None:
        #: The worker's pid on the host (``ps``, ``/proc``; -1 if it could not be found) and
        #: its namespace's init in the zygote's PID namespace (what the zygote kills).
        self.pid = -1
        self.ns_pid = ns_pid
        self.stdin: IO[bytes] | None = stdin
        self.stdout: IO[bytes] | None = stdout
        self.stderr: IO[bytes] | None = stderr
        self.args = ["<isolated worker>"]
        self.returncode: int | None = None
        self._kill = kill
        self._exited = threading.Event()
        self._readers: list[threading.Thread] = []
        self._output: dict[str, bytes] = {"out": b"", "err": b""}

    def exited(self, returncode: int) -> None:
        self.returncode = returncode
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            self._kill(self.ns_pid)

    terminate = kill

    def communicate(
        self, input: bytes | None = None, timeout: float | None = None
    ) -> tuple[bytes, bytes]:
        """Like ``Popen.communicate``: may be called again after ``TimeoutExpired``."""
        if not self._readers:
            self._start_io(input)
        end = None if timeout is None else time.monotonic() + timeout
        for reader in self._readers:
            reader.join(None if end is None else max(0.0, end - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        # Both pipes closed: the worker is exiting; its status follows within moments.
        self.wait(None if end is None else max(5.0, end - time.monotonic()))
        return self._output["out"], self._output["err"]

    def _start_io(self, input: bytes | None) -> None:
        stdin, self.stdin = self.stdin, None
        if stdin is not None:
            writer = threading.Thread(target=_feed, args=(stdin, input or b""), daemon=True)
            writer.start()
        for key, stream in (("out", self.stdout), ("err", self.stderr)):
            if stream is not None:
                reader = threading.Thread(target=self._collect, args=(key, stream), daemon=True)
                reader.start()
                self._readers.append(reader)

    def _collect(self, key: str, stream: IO[bytes]) -> None:
        chunks = []
        for chunk in iter(lambda: stream.read(65536), b""):
            chunks.append(chunk)
        stream.close()
        self._output[key] = b"".join(chunks)


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()
