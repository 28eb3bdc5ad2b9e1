"""Run a sandbox job in a separate, limited process, and classify how it ended.

The process is started by the isolation launcher (``sidecar.isolation``), like a run-time
worker: forked from the sandbox's zygote into namespaces of its own (no network, no view of
the platform's files or processes, a seccomp filter) where the host allows it; otherwise, and
said so, as ``python -I`` (no user site, no PYTHON* variables, no current directory on the
path). Either way its environment is built from an allowlist — so no INNGEST_*, OPENAI_*,
SLACK_* or any other secret — in ``/``, with its own session. It caps its own CPU time and
address space before loading the skill (``sandbox_child.apply_limits``); the sidecar adds a
wall-clock kill. A hostile skill can burn its CPU second, exhaust its memory or crash the interpreter
(``hash()`` of a very deep tuple segfaults CPython); the sidecar only sees an exit status.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
from collections.abc import Callable

import pydantic

from sidecar.isolation.launcher import IsolationError, Launcher, Process, launcher
from sidecar.isolation.launcher import start_plain as start
from sidecar.isolation.verdicts import death_of
from sidecar.isolation.view import PROJECT_ROOT as _ROOT

from .jobs import Message, SandboxJob, SandboxLimits

PROJECT_ROOT = str(_ROOT)
__all__ = ["PROJECT_ROOT", "SandboxOutcome", "Spawner", "run_job", "spawn_fresh", "start"]


@dataclasses.dataclass
class SandboxOutcome:
    messages: list[Message]
    returncode: int
    timed_out: bool
    stderr_tail: str

    @property
    def finished(self) -> bool:
        return any(m.kind == "done" for m in self.messages)

    def running_function(self) -> Message | None:
        """The dry run that started but never reported (where the process died)."""
        started = [m for m in self.messages if m.kind == "dry_run_started"]
        done = {m.fn_id for m in self.messages if m.kind == "dry_run"}
        pending = [m for m in started if m.fn_id not in done]
        return pending[-1] if pending else None

    def failure(self) -> tuple[str, str] | None:
        """(rule id, message) when the process did not finish normally."""
        if self.finished and self.returncode == 0:
            return None
        if self.timed_out:
            return "sandbox-timeout", "killed after the wall-clock limit"
        if self.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            return "sandbox-cpu-limit", "killed by the CPU-time limit"
        if self.returncode < 0:  # the seccomp filter, the file limit, a crash
            return death_of(self.returncode, self.stderr_tail, "the sandbox process")
        detail = self.stderr_tail.strip().splitlines()[-1:] or ["no output"]
        if "MemoryError" in self.stderr_tail:
            return "sandbox-memory-limit", "out of memory"
        return "sandbox-crashed", f"the sandbox process exited with {self.returncode}: {detail[0]}"


#: Starts a sandbox process. The default starts a fresh one; the sidecar passes a pool of
#: processes started ahead of time (they import while idle and read their job from stdin,
#: so they hold no skill code until ``run_job`` hands them one).
Spawner = Callable[[], Process]


def spawn_fresh(spawner: Launcher | None = None) -> Process:
    """A new sandbox process: isolated like a worker (``sidecar.isolation``) where possible."""
    return (spawner or launcher()).spawn("sandbox", [])


def run_job(job: SandboxJob, limits: SandboxLimits, spawn: Spawner | None = None) -> SandboxOutcome:
    job = job.model_copy(
        update={"cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_bytes}
    )
    try:
        proc = (spawn or spawn_fresh)()
    except IsolationError as failure:
        return SandboxOutcome(messages=[], returncode=1, timed_out=False, stderr_tail=str(failure))
    timed_out = False
    try:
        out, err = proc.communicate(job.model_dump_json().encode(), timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    return SandboxOutcome(
        messages=_parse(out),
        returncode=proc.wait(),
        timed_out=timed_out,
        stderr_tail=err.decode("utf-8", "replace")[-2000:],
    )


def _parse(out: bytes) -> list[Message]:
    messages = []
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            messages.append(Message.model_validate(json.loads(line)))
        except (ValueError, pydantic.ValidationError):
            continue  # a line cut short by a kill
    return messages
