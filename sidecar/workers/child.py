"""A worker process: load validated skill versions and run their handlers, one job at a time.

Started by ``process.WorkerProcess`` exactly like the validation sandbox (``python -I``, an
environment built from an allowlist, in ``/``, its own session). Before running any skill
code it caps its address space, file writes and core dumps, and the lifetime CPU it may use;
before each job it sets the soft CPU limit to what it used so far plus the job's allowance,
so one runaway handler dies of SIGXCPU without hurting the next job. The sidecar adds a
wall-clock deadline on every answer and kills a worker that stays silent.

Skill code runs under the same restricted globals as in validation (``validation.loader``),
against the facade, with backends that ask the sidecar for everything (``remote.py``). The
worker never sees the SDK, a signing key or a capability secret.
"""

from __future__ import annotations

import collections
import json
import math
import os
import resource
import sys
from typing import Any

from sidecar.facade.capabilities import build_capabilities
from sidecar.facade.context import SkillContext
from sidecar.facade.events import EventView
from sidecar.facade.payload import to_json_value
from sidecar.facade.steps import Step, StepGrants
from sidecar.validation.compile import restricted_compile
from sidecar.validation.loader import LoadedSkill, load
from sidecar.validation.manifest import Manifest

from .protocol import Message
from .remote import (
    Abandoned,
    CapabilityLink,
    RemoteStepBackend,
    WorkerChannel,
    describe_failure,
    remote_backends,
)

#: Loaded skill versions kept per worker, by content hash.
CACHE_SIZE = 32


def apply_limits(memory_bytes: int, lifetime_cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (lifetime_cpu_seconds, lifetime_cpu_seconds))


def cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def allow_cpu(seconds: int) -> None:
    """Let the next job use ``seconds`` more CPU seconds (SIGXCPU beyond)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(cpu_used()) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))


class Loaded:
    """A skill version loaded in this worker: its declarations and parsed manifest."""

    def __init__(self, skill: LoadedSkill, manifest: Manifest) -> None:
        self.skill = skill
        self.manifest = manifest


class Worker:
    def __init__(self, channel: WorkerChannel) -> None:
        self.channel = channel
        self.cache: collections.OrderedDict[str, Loaded] = collections.OrderedDict()

    def serve(self) -> None:
        self.channel.send({"op": "ready", "cpu": cpu_used()})
        while True:
            message = self.channel.recv()
            if message["op"] == "start":
                self.run_job(message["job"])
            elif message["op"] == "exit":
                return

    def run_job(self, job: dict[str, Any]) -> None:
        allow_cpu(int(job["cpu_seconds"]))
        self.channel.replayed = []
        filename = str(job["filename"])
        loaded = self._load(job)
        if isinstance(loaded, dict):
            self.channel.send({"op": "failed", **loaded, "cpu": cpu_used()})
            return
        declaration = next((d for d in loaded.skill.declarations if d.fn_id == job["fn_id"]), None)
        handler = None
        if declaration is not None:
            handler = declaration.on_failure if job["failure"] else declaration.handler
        if handler is None:
            failure = {"kind": "violation", "code": "function-invalid", "line": None,
                       "message": f"version {job['version']} has no function {job['fn_id']!r}"}  # fmt: skip
            self.channel.send({"op": "failed", **failure, "cpu": cpu_used()})
            return
        memos = job.get("memos")
        first = job.get("execute_first")
        backend = RemoteStepBackend(
            self.channel,
            filename,
            memos if isinstance(memos, dict) else {},
            execute_first=first if isinstance(first, str) else None,
        )
        ctx = self._context(job, loaded.manifest, backend)
        try:
            output = to_json_value(handler(ctx), "the function's return value")
        except BaseException as err:  # every failure of skill code is reported, never raised
            if isinstance(err, Abandoned) or backend.abandoned:
                # Also when a ``finally:`` in skill code replaced the interrupt with its own error.
                self.channel.send({"op": "abandoned", "cpu": cpu_used()})
            else:
                failure = describe_failure(err, filename)
                self.channel.send({"op": "failed", **failure, "cpu": cpu_used()})
            return
        self.channel.send({"op": "done", "output": output, "cpu": cpu_used()})

    def _context(
        self, job: dict[str, Any], manifest: Manifest, backend: RemoteStepBackend
    ) -> SkillContext:
        run_id = str(job["run_id"])
        link = CapabilityLink(self.channel, backend)
        grants = StepGrants(emits=frozenset(manifest.emits), invokes=frozenset(manifest.invokes))
        return SkillContext(
            events=[EventView.from_json(e) for e in job["events"]],
            run_id=run_id,
            attempt=int(job["attempt"]),
            step=Step(backend, run_id=run_id, grants=grants),
            capabilities=build_capabilities(
                manifest.capabilities, remote_backends(link), lambda _call: None
            ),
            log_sink=lambda message, fields: self.channel.send(
                {"op": "log", "message": message, "fields": fields}
            ),
        )

    def _load(self, job: dict[str, Any]) -> Loaded | Message:
        key = str(job["content_hash"])
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            return cached
        source, manifest = job.get("source"), job.get("manifest")
        if source is None or manifest is None:  # the usual job: asked for on a cache miss
            self.channel.send({"op": "need_source"})
            answer = self.channel.recv()
            source, manifest = answer.get("source"), answer.get("manifest")
        filename = str(job["filename"])
        code, findings = restricted_compile(str(source), filename)
        skill = None
        if code is not None:
            skill, findings = load(code, filename)
        if skill is None:
            first = findings[0] if findings else None
            return {
                "kind": "violation",
                "code": first.rule if first else "load-error",
                "message": first.message if first else "the skill did not load",
                "line": first.line if first else None,
            }
        loaded = Loaded(skill, Manifest.model_validate(manifest))
        self.cache[key] = loaded
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return loaded


def main() -> None:
    """Entry point: ``python -I -c <boot> <project root> <limits JSON>``."""
    limits = json.loads(sys.argv[2])
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever skill code manages to print cannot corrupt the protocol
    apply_limits(int(limits["memory_bytes"]), int(limits["lifetime_cpu_seconds"]))
    Worker(WorkerChannel(sys.stdin.buffer, protocol)).serve()
