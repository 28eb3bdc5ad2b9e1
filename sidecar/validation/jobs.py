"""What the sidecar asks the sandbox process to do, and the messages it answers with.

The child reads one ``SandboxJob`` as JSON on stdin and writes one JSON message per line on
stdout, flushing each, so that when a limit kills it mid-way the sidecar still knows how far it
got (which function's dry run was running).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pydantic


@dataclasses.dataclass(frozen=True)
class SandboxLimits:
    """Process-level caps for one sandbox run (the last line of defence)."""

    #: CPU seconds (RLIMIT_CPU): SIGXCPU at the soft limit, SIGKILL one second later.
    cpu_seconds: int = 2
    #: Wall-clock seconds before the sidecar kills the process (sleeping or blocked code).
    wall_seconds: float = 10.0
    #: Address space (RLIMIT_AS); allocations beyond it raise MemoryError.
    memory_bytes: int = 512 * 1024 * 1024


class SandboxJob(pydantic.BaseModel):
    mode: Literal["validate", "dry_run"]
    source: str
    filename: str
    manifest: dict[str, Any]
    manifest_line: int
    existing_function_ids: list[str] = []
    #: dry_run mode: which function, and the event (None: the default event).
    fn_id: str | None = None
    event: dict[str, Any] | None = None
    step_stubs: dict[str, Any] = {}
    fixtures: dict[str, Any] = {}
    faults: dict[str, str] = {}
    cpu_seconds: int = 2
    memory_bytes: int = 512 * 1024 * 1024


class Message(pydantic.BaseModel):
    """One line from the child: kind plus payload."""

    kind: Literal["findings", "declarations", "dry_run_started", "dry_run", "done"]
    findings: list[dict[str, Any]] = []
    declarations: list[dict[str, Any]] = []
    fn_id: str | None = None
    line: int | None = None
    result: dict[str, Any] | None = None
