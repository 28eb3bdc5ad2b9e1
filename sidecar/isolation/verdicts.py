"""Why a worker or sandbox process died, as (rule id, message): which limit stopped it.

Shared by run-time workers (``workers.process``) and validation dry runs
(``validation.sandbox``): the same death gets the same rule id and words in both.
"""

from __future__ import annotations

import signal

#: Signal → (rule id, message). SIGKILL is absent: it is also how a deadline kills.
_SIGNALS = {
    signal.SIGXCPU: ("sandbox-cpu-limit", "killed by the CPU-time limit"),
    signal.SIGSYS: (
        "sandbox-seccomp",
        "killed by the seccomp filter: it made a system call no skill may make "
        "(tracing, mounts, namespaces, kernel modules, ...)",
    ),
    signal.SIGXFSZ: ("sandbox-file-limit", "killed for writing to a file: skills may not"),
}


def death_of(returncode: int | None, stderr_tail: str, what: str = "the worker") -> tuple[str, str]:
    """(rule id, message) for a process that is gone (``returncode`` as ``Popen`` has it)."""
    if returncode is None:
        return "sandbox-crashed", f"{what} stopped answering"
    if returncode < 0 and -returncode in _SIGNALS:
        return _SIGNALS[signal.Signals(-returncode)]
    if returncode < 0 and returncode != -signal.SIGKILL:
        return "sandbox-crashed", f"{what} died with {signal.Signals(-returncode).name}"
    if "MemoryError" in stderr_tail:
        return "sandbox-memory-limit", "out of memory (the address-space limit)"
    tail = stderr_tail.strip().splitlines()[-1:]
    return "sandbox-crashed", f"{what} exited with {returncode}: {tail[0] if tail else 'no output'}"
