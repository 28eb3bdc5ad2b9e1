"""Validate a skill file as the sidecar must: against every other skill's ids, on warm sandboxes.

``validate_source`` runs its executing stages in a fresh ``python -I`` process; starting one
and importing the validator costs ~300-400 ms, most of the time from file written to skill
live. ``WarmSandboxes`` keeps a few such processes started ahead of time: a sandbox child
imports everything first and only then reads its job from stdin, so an idle one holds no skill
code, no secret (same scrubbed environment) and gets its limits when the job arrives. Both
start through the sidecar's isolation launcher, so dry runs are boxed like run-time workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from .isolation.launcher import IsolationError, Launcher, Process
from .registry import Registry
from .validation import SandboxLimits, ValidationReport, validate_source
from .validation.findings import finding
from .validation.sandbox import spawn_fresh


class WarmSandboxes:
    def __init__(self, size: int = 2, launcher: Launcher | None = None) -> None:
        self.size = size
        self.launcher = launcher
        self._lock = threading.Lock()
        self._ready: list[Process] = []
        self._closed = False
        self._fill()

    def take(self) -> Process:
        """A started sandbox process (a fresh one when none is waiting); refills behind."""
        with self._lock:
            proc = None
            while self._ready:
                candidate = self._ready.pop(0)  # the oldest has had the most time to import
                if candidate.poll() is None:
                    proc = candidate
                    break
        threading.Thread(target=self._fill, daemon=True).start()
        return proc if proc is not None else spawn_fresh(self.launcher)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, []
        for proc in ready:
            proc.kill()
            proc.communicate()

    def _fill(self) -> None:
        while True:
            with self._lock:
                if self._closed or len(self._ready) >= self.size:
                    return
            try:
                proc = spawn_fresh(self.launcher)
            except IsolationError:
                return  # ``take`` starts one itself and reports what failed
            with self._lock:
                if self._closed:
                    proc.kill()
                    proc.communicate()
                    return
                self._ready.append(proc)


class Checker:
    def __init__(
        self,
        registry: Registry,
        *,
        reserved_function_ids: frozenset[str] = frozenset(),
        reserved_for: Mapping[str, str] | None = None,
        limits: SandboxLimits | None = None,
        warm: WarmSandboxes | None = None,
        launcher: Launcher | None = None,
        refusal: Callable[[str], str | None] | None = None,
    ) -> None:
        self.registry = registry
        self.reserved = reserved_function_ids
        #: Reserved function id → the one skill that may take it (a core skill's own ids).
        self.reserved_for = dict(reserved_for or {})
        self.limits = limits
        self.warm = warm
        self.launcher = launcher
        #: Skill id → why its code may not run here (no isolation, production), else None.
        self.refusal = refusal
        #: Skill id → why its code may not run here (no isolation, production), else None.
        self.refusal = refusal

    def check(self, skill_id: str, source: str, filename: str) -> ValidationReport:
        refusal = self.refusal(skill_id) if self.refusal else None
        if refusal is not None:
            found = finding(filename, "sandbox-isolation-unavailable", refusal)
            return ValidationReport(file=filename, findings=[found], layers_run=[])
        reserved = {f for f in self.reserved if self.reserved_for.get(f) != skill_id}
        taken = self.registry.taken_function_ids(except_skill=skill_id) | reserved
        return validate_source(
            source,
            filename,
            existing_function_ids=taken,
            limits=self.limits,
            spawn=self.warm.take if self.warm else lambda: spawn_fresh(self.launcher),
        )
