"""One worker process, seen from the sidecar: start it, talk to it, kill it.

The process starts like the validation sandbox (``validation.sandbox.start``: ``python -I``,
an allowlisted environment with no INNGEST_*, LLM or Slack secret, cwd ``/``, its own
session) and limits itself (``child.apply_limits``). Its stderr is drained by a thread that
keeps the tail, so a chatty skill can never block it on a full pipe and a crash can be
explained.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import subprocess
import sys
import threading
from typing import IO

from sidecar.validation.sandbox import PROJECT_ROOT, start

from .protocol import Channel, ChannelError, Message

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from sidecar.workers.child import main; main()"
)


@dataclasses.dataclass(frozen=True)
class WorkerLimits:
    """Caps on one worker; the defaults suit monitoring skills, not batch jobs."""

    #: CPU seconds one job (one SDK call) may use; SIGXCPU beyond.
    job_cpu_seconds: int = 10
    #: CPU seconds over the worker's life; it is replaced before reaching them.
    lifetime_cpu_seconds: int = 600
    #: Address space (RLIMIT_AS).
    memory_bytes: int = 512 * 1024 * 1024
    #: Seconds the worker may compute before answering (capability calls served by the
    #: sidecar do not count); then it is killed.
    wall_seconds: float = 30.0
    #: Seconds a fresh worker may take to import and say ``ready``.
    start_seconds: float = 30.0
    #: Jobs before a worker is replaced (bounds what one interpreter accumulates).
    max_jobs: int = 1000


class WorkerProcess:
    def __init__(self, limits: WorkerLimits) -> None:
        self.limits = limits
        config = {
            "memory_bytes": limits.memory_bytes,
            "lifetime_cpu_seconds": limits.lifetime_cpu_seconds,
        }
        self._proc = start([sys.executable, "-I", "-c", _BOOT, PROJECT_ROOT, json.dumps(config)])
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self.channel = Channel(self._proc.stdin.fileno(), self._proc.stdout.fileno())
        self._stderr_tail = b""
        self._drain = threading.Thread(target=self._read_stderr, args=(self._proc.stderr,))
        self._drain.daemon = True
        self._drain.start()
        self.ready = False
        self.jobs = 0
        self.cpu = 0.0
        #: Set when a job was abandoned: its ``abandoned`` answer is still to be read.
        self.owes_answer = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait_ready(self) -> None:
        """Block until the worker has imported everything and said ``ready``."""
        if not self.ready:
            message = self.channel.recv(self.limits.start_seconds)
            if message["op"] != "ready":
                raise ChannelError(f"a starting worker said {message['op']!r}")
            self.ready = True

    def send(self, message: Message) -> None:
        self.channel.send(message, self.limits.wall_seconds)

    def recv(self) -> Message:
        message = self.channel.recv(self.limits.wall_seconds)
        if "cpu" in message and isinstance(message["cpu"], int | float):
            self.cpu = float(message["cpu"])
        return message

    def settle(self) -> None:
        """Read the last answer a previous, interrupted job owes (skipping its late logs)."""
        if self.owes_answer:
            while self.recv()["op"] not in ("abandoned", "done", "failed"):
                pass
            self.owes_answer = False

    def worn_out(self) -> bool:
        limits = self.limits
        return (
            self.jobs >= limits.max_jobs
            or self.cpu + limits.job_cpu_seconds >= limits.lifetime_cpu_seconds
        )

    def alive(self) -> bool:
        return self._proc.poll() is None

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()

    def death(self) -> tuple[str, str]:
        """(rule id, message) explaining why the worker is gone, after ``kill``."""
        code = self._proc.poll()
        tail = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()[-1:]
        if code is None:
            return "sandbox-crashed", "the worker stopped answering"
        if code == -signal.SIGXCPU:
            return "sandbox-cpu-limit", "killed by the CPU-time limit"
        if code < 0 and code != -signal.SIGKILL:
            return "sandbox-crashed", f"the worker died with {signal.Signals(-code).name}"
        if "MemoryError" in self._stderr_tail.decode("utf-8", "replace"):
            return "sandbox-memory-limit", "out of memory"
        return "sandbox-crashed", f"the worker exited with {code}: {tail[0] if tail else ''}"

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            self._stderr_tail = (self._stderr_tail + chunk)[-4096:]
        stream.close()
