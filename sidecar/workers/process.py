"""One worker process, seen from the sidecar: start it, talk to it, kill it.

The process is started by the isolation launcher (``sidecar.isolation``): forked from the
sandbox's zygote into namespaces of its own with a seccomp filter, or — where isolation is
unavailable, and said so — as ``python -I`` with an allowlisted environment (no INNGEST_*,
LLM or Slack secret), cwd ``/``, its own session. Either way it limits itself
(``child.apply_limits``). Its stderr is drained by a thread that keeps the tail, so a chatty
skill can never block it on a full pipe and a crash can be explained.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import threading
from typing import IO

from sidecar.isolation.launcher import Launcher, launcher
from sidecar.isolation.verdicts import death_of

from .protocol import Channel, ChannelError, Message
from .warm import WarmRuns


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
    #: Handler starts (a run's first call, or a cold replay) before a worker is replaced:
    #: bounds what one interpreter (and its skill's code) accumulates. Resuming a parked run
    #: (``warm.py``) starts nothing: a 1,000-step run is one start, not 1,000.
    max_runs: int = 500


class WorkerProcess:
    def __init__(self, limits: WorkerLimits, spawner: Launcher | None = None) -> None:
        self.limits = limits
        config = {
            "memory_bytes": limits.memory_bytes,
            "lifetime_cpu_seconds": limits.lifetime_cpu_seconds,
        }
        self._proc = (spawner or launcher()).spawn("worker", [json.dumps(config)])
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self.channel = Channel(self._proc.stdin.fileno(), self._proc.stdout.fileno())
        self._stderr_tail = b""
        self._drain = threading.Thread(target=self._read_stderr, args=(self._proc.stderr,))
        self._drain.daemon = True
        self._drain.start()
        self.ready = False
        #: Handlers started in this worker (``max_runs``), counted by the session.
        self.runs = 0
        self.cpu = 0.0
        #: Set when a job was abandoned: its ``abandoned`` answer is still to be read.
        self.owes_answer = False
        #: The one skill version this worker serves, from its first job on (see the pool).
        self.owner: str | None = None
        self.last_used = 0.0
        #: The runs this worker keeps parked between their calls (``warm.py``); they die with it.
        self.warm = WarmRuns()

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

    def abandon(self) -> None:
        """Let the current job go: its handler is parked if the job offered it, else unwound."""
        self.send(self.warm.abandon_message())
        self.owes_answer = True

    def settle(self) -> None:
        """Read the last answer a previous, interrupted job owes (skipping its late logs)."""
        if self.owes_answer:
            while (answer := self.recv()["op"]) not in ("abandoned", "parked", "done", "failed"):
                pass
            self.warm.settled(answer)
            self.owes_answer = False

    def worn_out(self) -> bool:
        limits = self.limits
        return (
            self.runs >= limits.max_runs
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
        return death_of(self._proc.poll(), self._stderr_tail.decode("utf-8", "replace"))

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            self._stderr_tail = (self._stderr_tail + chunk)[-4096:]
        stream.close()
