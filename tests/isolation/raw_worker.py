"""Test-only: run *raw* Python in a real isolated worker, as if RestrictedPython were bypassed.

The production launcher never starts its zygote with ``--allow-raw``, so the ``raw`` entry
exists only in zygotes started here. Each call forks a fresh worker exactly as the sidecar
does (same namespaces, seccomp filter, resource limits but the file-size one), feeds it the
code and returns what it printed and how it ended.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import textwrap
from typing import Any

import pytest

from sidecar.isolation.config import IsolationSettings
from sidecar.isolation.launcher import IsolatedLauncher, IsolationStatus, unavailable_reason
from sidecar.isolation.process import IsolatedProcess

MiB = 1024 * 1024
#: Small caps, so filling them is quick.
SETTINGS = IsolationSettings(tmp_bytes=4 * MiB, max_processes=16)
LIMITS = {"memory_bytes": 512 * MiB, "lifetime_cpu_seconds": 60}


@dataclasses.dataclass
class RawOutcome:
    returncode: int
    #: ``{"ok", "error", "result"}`` from the raw entry; None when the worker died first.
    report: dict[str, Any] | None
    stderr: str

    @property
    def result(self) -> Any:
        return self.report["result"] if self.report else None


class RawLauncher:
    """A zygote that also knows the raw entry."""

    def __init__(self, settings: IsolationSettings = SETTINGS) -> None:
        if platform.system() != "Linux":
            pytest.skip("worker isolation is Linux-only")
        reason = unavailable_reason(settings)
        assert reason is None, f"isolation must work here (.ci/run installs it): {reason}"
        self.inner = IsolatedLauncher(settings, allow_raw=True)
        self.status: IsolationStatus = self.inner.status

    def start(self, code: str) -> IsolatedProcess:
        proc = self.inner.spawn("raw", [json.dumps(LIMITS)])
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(textwrap.dedent(code)) + "\n").encode())
        proc.stdin.flush()
        return proc

    def run(self, code: str, timeout: float = 120) -> RawOutcome:
        return self.finish(self.start(code), timeout)

    def finish(self, proc: IsolatedProcess, timeout: float = 120) -> RawOutcome:
        """Close the worker's stdin (what is left of it), wait for its report and its end."""
        out, err = proc.communicate(timeout=timeout)
        lines = out.decode("utf-8", "replace").strip().splitlines()
        report = json.loads(lines[-1]) if lines else None
        return RawOutcome(proc.wait(), report, err.decode("utf-8", "replace"))

    def spawn(self, entry: str, args: list[str]) -> IsolatedProcess:
        return self.inner.spawn(entry, args)

    def close(self) -> None:
        self.inner.close()
