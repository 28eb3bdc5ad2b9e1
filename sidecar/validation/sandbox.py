"""Run a sandbox job in a separate, limited process, and classify how it ended.

The process is ``python -I`` (no user site, no PYTHON* variables, no current directory on the
path) started with an environment built from an allowlist — so no INNGEST_*, OPENAI_*, SLACK_*
or any other secret — in ``/``, with its own session. It caps its own CPU time and address
space before loading the skill (``sandbox_child.apply_limits``); the sidecar adds a wall-clock
kill. A hostile skill can burn its CPU second, exhaust its memory or crash the interpreter
(``hash()`` of a very deep tuple segfaults CPython); the sidecar only sees an exit status.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pydantic

from .jobs import Message, SandboxJob, SandboxLimits

#: The whole environment a sandbox process gets. Nothing is inherited from the sidecar.
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from sidecar.validation.sandbox_child import main; main()"
)


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
        if self.returncode < 0:
            name = signal.Signals(-self.returncode).name
            return "sandbox-crashed", f"the sandbox process died with {name}"
        detail = self.stderr_tail.strip().splitlines()[-1:] or ["no output"]
        if "MemoryError" in self.stderr_tail:
            return "sandbox-memory-limit", "out of memory"
        return "sandbox-crashed", f"the sandbox process exited with {self.returncode}: {detail[0]}"


def sandbox_command() -> list[str]:
    return [sys.executable, "-I", "-c", _BOOT, PROJECT_ROOT]


def start(command: list[str]) -> subprocess.Popen[bytes]:
    """Start a process the way every sandbox process starts: scrubbed, detached, in /."""
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(SANDBOX_ENV),
        cwd="/",
        close_fds=True,
        start_new_session=True,
    )


#: Starts a sandbox process. The default starts a fresh one; the sidecar passes a pool of
#: processes started ahead of time (they import while idle and read their job from stdin,
#: so they hold no skill code until ``run_job`` hands them one).
Spawner = Callable[[], "subprocess.Popen[bytes]"]


def spawn_fresh() -> subprocess.Popen[bytes]:
    return start(sandbox_command())


def run_job(job: SandboxJob, limits: SandboxLimits, spawn: Spawner | None = None) -> SandboxOutcome:
    job = job.model_copy(
        update={"cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_bytes}
    )
    proc = (spawn or spawn_fresh)()
    timed_out = False
    try:
        out, err = proc.communicate(job.model_dump_json().encode(), timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    return SandboxOutcome(
        messages=_parse(out),
        returncode=proc.returncode,
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
